{#-
    Bitemporal month-end balances: each account x currency x month with transactions, as known
    after each run that changed it. A version is valid from the run that made it known
    (known_from_run_id, known_from) to the run that changed it (known_until_run_id, known_until;
    NULL while it is what fct_month_end_balances says today). balance is the balance at the
    month's end, which for a month with transactions is also its closing balance; a month
    without transactions closes at the balance of the latest earlier month with transactions, so
    the months between carry no rows (macro month_end_balances_as_known_at fills them in).
    Rows grow with changes: a run adds a version only to the months whose balance or count it
    changed, i.e. the months of its transactions and, for a late transaction, the later months
    of that account.
    Incremental: each build recomputes every version of the months that the new runs can have
    changed (the changed accounts' months from the earliest one a new run touched), from the
    per-run sums, and merges them: the versions it rewrites come out as they were, with their
    end set when a new run changed them. A first build computes every version of every run.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['account_id', 'currency', 'month', 'known_from_run_id'],
    on_schema_change='fail',
    table_type='iceberg',
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}
{%- set last_run =
    last_processed_run_id(this, 'known_from_run_id') if is_incremental() else none -%}

with

run_sums as (
    select
        account_id,
        currency,
        month_start,
        run_id,
        landed_at,
        net_amount,
        tx_count
    from {{ ref('int_transactions__summed_to_account_month_runs') }}
),

-- the accounts the new runs changed, from the earliest month they changed
changed_accounts as (
    select
        account_id,
        currency,
        min(month_start) as first_changed_month
    from run_sums
    {%- if last_run is not none %}
    where run_id > '{{ last_run }}'
    {%- endif %}
    group by account_id, currency
),

changed_account_sums as (
    select
        run_sums.*,
        changed_accounts.first_changed_month
    from run_sums
    inner join changed_accounts
        on
            run_sums.account_id = changed_accounts.account_id
            and run_sums.currency = changed_accounts.currency
),

-- the months whose versions this build (re)computes
target_months as (
    select distinct
        account_id,
        currency,
        month_start
    from changed_account_sums
    where month_start >= first_changed_month
),

-- what each run added to a month's balance (its own and every earlier month's transactions)
-- and to the month's count
run_contributions as (
    select
        target_months.account_id,
        target_months.currency,
        target_months.month_start,
        changed_account_sums.run_id,
        changed_account_sums.landed_at,
        sum(changed_account_sums.net_amount) as net_amount,
        sum(
            case
                when changed_account_sums.month_start = target_months.month_start
                    then changed_account_sums.tx_count
                else 0
            end
        ) as tx_count
    from target_months
    inner join changed_account_sums
        on
            target_months.account_id = changed_account_sums.account_id
            and target_months.currency = changed_account_sums.currency
            and target_months.month_start >= changed_account_sums.month_start
    group by
        target_months.account_id,
        target_months.currency,
        target_months.month_start,
        changed_account_sums.run_id,
        changed_account_sums.landed_at
),

-- the month's balance and count after each of those runs
values_after_runs as (
    select
        *,
        sum(net_amount) over (
            partition by account_id, currency, month_start
            order by run_id
            rows between unbounded preceding and current row
        ) as balance,
        sum(tx_count) over (
            partition by account_id, currency, month_start
            order by run_id
            rows between unbounded preceding and current row
        ) as month_tx_count
    from run_contributions
),

compared as (
    select
        *,
        lag(balance) over (
            partition by account_id, currency, month_start order by run_id
        ) as previous_balance,
        lag(month_tx_count) over (
            partition by account_id, currency, month_start order by run_id
        ) as previous_tx_count
    from values_after_runs
),

-- a version begins when the month gets its first transaction or its values change
versions as (
    select *
    from compared
    where
        month_tx_count > 0
        and (
            coalesce(previous_tx_count, 0) = 0
            or balance <> previous_balance
            or month_tx_count <> previous_tx_count
        )
),

final as (
    select
        cast(account_id as varchar) as account_id,
        cast(currency as varchar) as currency,
        cast({{ month_text('month_start') }} as varchar) as month,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as month_end,
        cast(balance as decimal(38, 2)) as balance,
        cast(month_tx_count as bigint) as tx_count,
        cast(run_id as varchar) as known_from_run_id,
        cast(landed_at as {{ timestamp_type() }}) as known_from,
        cast(
            lead(run_id) over (
                partition by account_id, currency, month_start order by run_id
            ) as varchar
        ) as known_until_run_id,
        cast(
            lead(landed_at) over (
                partition by account_id, currency, month_start order by run_id
            ) as {{ timestamp_type() }}
        ) as known_until
    from versions
)

select * from final
