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

-- every month of those accounts: the balances of the months from the first changed one on
-- need the net amounts of the months before it
account_months as (
    select distinct
        account_id,
        currency,
        month_start,
        first_changed_month
    from changed_account_sums
),

-- the first month each run touched, per account
run_first_months as (
    select
        account_id,
        currency,
        run_id,
        landed_at,
        min(month_start) as first_month
    from changed_account_sums
    group by account_id, currency, run_id, landed_at
),

-- the (month, run) pairs where the run can have changed the month's balance: it touched that
-- month or an earlier one; with the run's own net amount and count in that month
month_runs as (
    select
        account_months.account_id,
        account_months.currency,
        account_months.month_start,
        account_months.first_changed_month,
        run_first_months.run_id,
        run_first_months.landed_at,
        coalesce(changed_account_sums.net_amount, 0) as net_amount,
        coalesce(changed_account_sums.tx_count, 0) as tx_count
    from account_months
    inner join run_first_months
        on
            account_months.account_id = run_first_months.account_id
            and account_months.currency = run_first_months.currency
            and account_months.month_start >= run_first_months.first_month
    left join changed_account_sums
        on
            account_months.account_id = changed_account_sums.account_id
            and account_months.currency = changed_account_sums.currency
            and account_months.month_start = changed_account_sums.month_start
            and run_first_months.run_id = changed_account_sums.run_id
),

-- what each run added to the month's balance: its net amounts of that month and every earlier one
run_contributions as (
    select
        *,
        sum(net_amount) over (
            partition by account_id, currency, run_id
            order by month_start
            rows between unbounded preceding and current row
        ) as balance_change
    from month_runs
),

-- the month's balance and count after each of those runs, from the first changed month on
values_after_runs as (
    select
        account_id,
        currency,
        month_start,
        run_id,
        landed_at,
        balance_change,
        tx_count,
        sum(balance_change) over (
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
    where month_start >= first_changed_month
),

-- a version begins where a run changed a month that has transactions: the run brought
-- transactions of that month (its first ones among them) or changed its balance
versions as (
    select *
    from values_after_runs
    where month_tx_count > 0 and (tx_count <> 0 or balance_change <> 0)
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
