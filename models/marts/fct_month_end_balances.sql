{#-
    Month-end balance per account x currency x month, on a spine that covers every month of the
    reporting window for every account (vars balance_start_month / balance_end_month, 'YYYY-MM';
    default: first and last month in the data). Months are calendar months in UTC.
      balance          new_balance after the account's last transaction in the month, NULL when
                       the account had no transaction that month
      closing_balance  balance at the month's end, carried forward, including history before the
                       window; NULL while the account has no history yet
    Built from the account-month sums (int_transactions__summed_to_account_months), so the spine
    and the windows work on account-months, not on transactions. Incremental: an account's
    balances depend only on its own months and the window, so a build recomputes every month of
    the accounts whose sums the new runs changed (late data for an old month corrects that month
    and every later closing balance) and merges them; when the window moves, every account is
    recomputed and the post-hook deletes the months that left it.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['account_id', 'currency', 'month'],
    on_schema_change='append_new_columns',
    table_type='iceberg',
    post_hook=[
        "{{ delete_outside_balance_window(this) }}",
        "{{ iceberg_optimize(this) }}",
        "{{ iceberg_vacuum(this) }}",
    ],
) }}
{%- set window_bounds = balance_window_bounds() -%}
{#- none (recompute every account) on the first build, and on a table from before last_run_id -#}
{%- set last_run = last_processed_run_id(this, 'last_run_id') if is_incremental() else none -%}

with

account_months as (
    select
        account_id,
        currency,
        month_start,
        net_amount,
        tx_count,
        last_run_id
    from {{ ref('int_transactions__summed_to_account_months') }}
),

bounds as (
    select
        {{ window_bounds[0] }} as start_month,
        {{ window_bounds[1] }} as end_month
    from account_months
    having count(*) > 0
),

window_months as (
    {{ month_starts('bounds') }}
),

{% if last_run is not none -%}
held_window as (
    select
        min(month) as start_month,
        max(month) as end_month
    from {{ this }}
),

-- accounts whose sums the new runs changed; every account when the window moved
changed_accounts as (
    select distinct
        account_months.account_id,
        account_months.currency
    from account_months
    cross join bounds
    cross join held_window
    where
        account_months.last_run_id > '{{ last_run }}'
        or held_window.start_month is null
        or held_window.start_month <> {{ month_text('bounds.start_month') }}
        or held_window.end_month <> {{ month_text('bounds.end_month') }}
),

scoped_account_months as (
    select account_months.*
    from account_months
    inner join changed_accounts
        on
            account_months.account_id = changed_accounts.account_id
            and account_months.currency = changed_accounts.currency
),
{%- else -%}
scoped_account_months as (
    select *
    from account_months
),
{%- endif %}

accounts as (
    select distinct
        account_id,
        currency
    from scoped_account_months
),

-- the latest run in the sums, one value for every row this build writes
sums_state as (
    select max(last_run_id) as last_run_id
    from {{ ref('int_transactions__summed_to_account_months') }}
),

spine as (
    select
        accounts.account_id,
        accounts.currency,
        window_months.month_start
    from accounts
    cross join window_months
),

-- the window's months plus every earlier month with activity, so that history before the
-- window reaches the closing balance
timeline as (
    select
        spine.account_id,
        spine.currency,
        spine.month_start,
        true as is_in_window
    from spine
    union all
    select
        scoped_account_months.account_id,
        scoped_account_months.currency,
        scoped_account_months.month_start,
        false as is_in_window
    from scoped_account_months
    cross join bounds
    where scoped_account_months.month_start < bounds.start_month
),

activity as (
    select
        timeline.account_id,
        timeline.currency,
        timeline.month_start,
        timeline.is_in_window,
        coalesce(scoped_account_months.net_amount, 0) as net_amount,
        coalesce(scoped_account_months.tx_count, 0) as tx_count
    from timeline
    left join scoped_account_months
        on
            timeline.account_id = scoped_account_months.account_id
            and timeline.currency = scoped_account_months.currency
            and timeline.month_start = scoped_account_months.month_start
),

running as (
    select
        *,
        sum(net_amount) over (
            partition by account_id, currency
            order by month_start
            rows between unbounded preceding and current row
        ) as running_amount,
        sum(tx_count) over (
            partition by account_id, currency
            order by month_start
            rows between unbounded preceding and current row
        ) as running_tx_count
    from activity
),

final as (
    select
        cast(running.account_id as varchar) as account_id,
        cast(running.currency as varchar) as currency,
        cast({{ month_text('running.month_start') }} as varchar) as month,
        cast({{ dbt.last_day('running.month_start', 'month') }} as date) as month_end,
        cast(
            case when running.tx_count > 0 then running.running_amount end as decimal(38, 2)
        ) as balance,
        cast(
            case when running.running_tx_count > 0 then running.running_amount end
            as decimal(38, 2)
        ) as closing_balance,
        cast(running.tx_count as bigint) as tx_count,
        cast(sums_state.last_run_id as varchar) as last_run_id
    from running
    cross join sums_state
    where running.is_in_window
)

select * from final
