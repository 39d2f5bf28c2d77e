{#-
    Every month-end balance of the reporting window that changed after its month closed (var
    month_close_days after the month's end) and had been reported then (the balances known at
    the close covered that month): what the balances said at the close (from
    fct_month_end_balance_history), what they say now (fct_month_end_balances) and the runs that
    changed them. A run changes the balances of the accounts it has transactions for from the
    month of those transactions on, so only runs that landed after the close of their own
    transactions' month can restate anything. The lines: fct_balance_restatement_lines.
-#}
{{ config(materialized='table', table_type='iceberg') }}

with

run_sums as (
    select
        account_id,
        currency,
        month_start,
        run_id,
        landed_at
    from {{ ref('int_transactions__summed_to_account_month_runs') }}
),

balances as (
    select
        account_id,
        currency,
        month,
        balance,
        closing_balance
    from {{ ref('fct_month_end_balances') }}
),

history as (
    select
        account_id,
        currency,
        cast(month || '-01' as date) as month_start,
        balance,
        known_from,
        known_until
    from {{ ref('fct_month_end_balance_history') }}
),

window_months as (
    select distinct cast(month || '-01' as date) as month_start
    from balances
),

-- when each month first had a known balance (months with transactions)
months_first_known as (
    select
        month_start,
        min(known_from) as first_known
    from history
    group by month_start
),

-- the months that had been reported at their close: the window of the balances then known (its
-- first to its last month with transactions) held them. A month of a history loaded after it
-- closed was never reported, so it cannot be restated.
closes as (
    select
        window_months.month_start,
        {{ month_close_at('window_months.month_start') }} as closed_at
    from window_months
    inner join months_first_known
        on {{ month_close_at('window_months.month_start') }} >= months_first_known.first_known
    group by window_months.month_start
    having
        min(months_first_known.month_start) <= window_months.month_start
        and max(months_first_known.month_start) >= window_months.month_start
),

-- the account-months a run delivered after their month had closed
late_sums as (
    select *
    from run_sums
    where landed_at > {{ month_close_at('month_start') }}
),

-- a late run changed every month of the account from its transactions' month to the last month
-- that had closed when it landed
late_changes as (
    select
        late_sums.account_id,
        late_sums.currency,
        closes.month_start,
        closes.closed_at,
        late_sums.run_id
    from late_sums
    inner join closes
        on
            late_sums.month_start <= closes.month_start
            and late_sums.landed_at > closes.closed_at
),

candidates as (
    select
        account_id,
        currency,
        month_start,
        closed_at,
        count(distinct run_id) as changing_runs,
        min(run_id) as first_changing_run_id,
        max(run_id) as last_changing_run_id
    from late_changes
    group by account_id, currency, month_start, closed_at
),

-- at the close, the month's balance was that of the latest month with transactions up to it,
-- in the version then known
versions_at_close as (
    select
        candidates.account_id,
        candidates.currency,
        candidates.month_start,
        history.month_start as version_month_start,
        history.balance,
        row_number() over (
            partition by candidates.account_id, candidates.currency, candidates.month_start
            order by history.month_start desc
        ) as recency
    from candidates
    inner join history
        on
            candidates.account_id = history.account_id
            and candidates.currency = history.currency
            and candidates.month_start >= history.month_start
            and candidates.closed_at >= history.known_from
            and (history.known_until is null or candidates.closed_at < history.known_until)
),

compared as (
    select
        candidates.*,
        versions_at_close.balance as closing_balance_at_close,
        balances.balance,
        balances.closing_balance,
        case
            when versions_at_close.version_month_start = candidates.month_start
                then versions_at_close.balance
        end as balance_at_close
    from candidates
    inner join balances
        on
            candidates.account_id = balances.account_id
            and candidates.currency = balances.currency
            and {{ month_text('candidates.month_start') }} = balances.month
    left join versions_at_close
        on
            candidates.account_id = versions_at_close.account_id
            and candidates.currency = versions_at_close.currency
            and candidates.month_start = versions_at_close.month_start
            and versions_at_close.recency = 1
),

final as (
    select
        cast(account_id as varchar) as account_id,
        cast(currency as varchar) as currency,
        cast({{ month_text('month_start') }} as varchar) as month,
        cast(closed_at as {{ timestamp_type() }}) as closed_at,
        cast(balance_at_close as decimal(38, 2)) as balance_at_close,
        cast(closing_balance_at_close as decimal(38, 2)) as closing_balance_at_close,
        cast(balance as decimal(38, 2)) as balance,
        cast(closing_balance as decimal(38, 2)) as closing_balance,
        cast(
            coalesce(closing_balance, 0) - coalesce(closing_balance_at_close, 0) as decimal(38, 2)
        ) as closing_balance_change,
        cast(changing_runs as bigint) as changing_runs,
        cast(first_changing_run_id as varchar) as first_changing_run_id,
        cast(last_changing_run_id as varchar) as last_changing_run_id
    from compared
    where
        balance is distinct from balance_at_close
        or closing_balance is distinct from closing_balance_at_close
)

select * from final
