{#-
    Net amount and transaction count per account x currency x calendar month (UTC) of the
    processed transactions: what the month-end balances are built from. Incremental: an accepted
    transaction never changes or leaves fct_transactions, so each build adds the sums of the new
    runs' transactions to their account-months (merge on the account-month) and the balances no
    longer read every transaction.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['account_id', 'currency', 'month_start'],
    on_schema_change='fail',
    table_type='iceberg',
    post_hook=["{{ iceberg_housekeeping(this) }}"],
) }}

with

new_transactions as (
    select
        account_id,
        currency,
        amount,
        transaction_ts,
        run_id
    from {{ ref('fct_transactions') }}
    where {{ new_runs_only(processed_column='last_run_id') }}
),

new_account_months as (
    select
        account_id,
        currency,
        cast({{ dbt.date_trunc('month', 'transaction_ts') }} as date) as month_start,
        sum(amount) as net_amount,
        count(*) as tx_count,
        max(run_id) as last_run_id
    from new_transactions
    group by 1, 2, 3
),

{% if is_incremental() -%}
earlier_account_months as (
    select
        account_id,
        currency,
        month_start,
        net_amount,
        tx_count
    from {{ this }}
),
{%- else -%}
earlier_account_months as (
    select
        account_id,
        currency,
        month_start,
        net_amount,
        tx_count
    from new_account_months
    where 1 = 0
),
{%- endif %}

final as (
    select
        new_account_months.account_id,
        new_account_months.currency,
        new_account_months.month_start,
        cast(
            new_account_months.net_amount + coalesce(earlier_account_months.net_amount, 0)
            as decimal(38, 2)
        ) as net_amount,
        cast(
            new_account_months.tx_count + coalesce(earlier_account_months.tx_count, 0)
            as bigint
        ) as tx_count,
        new_account_months.last_run_id
    from new_account_months
    left join earlier_account_months
        on
            new_account_months.account_id = earlier_account_months.account_id
            and new_account_months.currency = earlier_account_months.currency
            and new_account_months.month_start = earlier_account_months.month_start
)

select * from final
