{#-
    Net amount and transaction count per account x currency x calendar month (UTC) x run: what
    each run added to each account-month, the source of the balances as known after each run
    (fct_month_end_balance_history). Append-only: an accepted record is never reclassified, so
    a run's sums never change once written; each build adds the new runs' sums.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    table_type='iceberg',
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

with

new_transactions as (
    select
        account_id,
        currency,
        amount,
        transaction_ts,
        run_id,
        landed_at
    from {{ ref('int_transactions__classified') }}
    where
        record_status = 'accepted'
        and {{ new_runs_only(landed_column='landed_at') }}
),

final as (
    select
        account_id,
        currency,
        cast({{ dbt.date_trunc('month', 'transaction_ts') }} as date) as month_start,
        run_id,
        landed_at,
        cast(sum(amount) as decimal(38, 2)) as net_amount,
        cast(count(*) as bigint) as tx_count
    from new_transactions
    group by 1, 2, 3, 4, 5
)

select * from final
