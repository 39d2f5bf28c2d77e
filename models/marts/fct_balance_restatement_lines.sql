{#- The lines behind each restated month-end balance (fct_balance_restatements): every processed
    transaction of the account, in the month or before it, whose run landed after the month
    closed. -#}
{{ config(materialized='table', table_type='iceberg') }}

with

restatements as (
    select
        account_id,
        currency,
        month,
        closed_at
    from {{ ref('fct_balance_restatements') }}
),

transactions as (
    select
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        month,
        run_id,
        source_file,
        line_number,
        landed_at
    from {{ ref('fct_transactions') }}
),

final as (
    select
        cast(restatements.account_id as varchar) as account_id,
        cast(restatements.currency as varchar) as currency,
        cast(restatements.month as varchar) as month,
        cast(transactions.run_id as varchar) as run_id,
        cast(transactions.source_file as varchar) as source_file,
        cast(transactions.line_number as bigint) as line_number,
        cast(transactions.transaction_id as varchar) as transaction_id,
        cast(transactions.amount as decimal(18, 2)) as amount,
        cast(transactions.transaction_ts as {{ timestamp_type() }}) as transaction_ts,
        cast(transactions.landed_at as {{ timestamp_type() }}) as landed_at
    from restatements
    inner join transactions
        on
            restatements.account_id = transactions.account_id
            and restatements.currency = transactions.currency
            and restatements.month >= transactions.month
            and restatements.closed_at < transactions.landed_at
)

select * from final
