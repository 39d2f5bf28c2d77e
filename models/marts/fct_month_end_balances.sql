{#-
    Month-end balance per account x currency x month, on a spine that covers every month of the
    reporting window for every account (vars balance_start_month / balance_end_month, 'YYYY-MM';
    default: first and last month in the data). Months are calendar months in UTC.
      balance          new_balance after the account's last transaction in the month, NULL when
                       the account had no transaction that month
      closing_balance  balance at the month's end, carried forward, including history before the
                       window; NULL while the account has no history yet
    Built from the account-month sums (int_transactions__summed_to_account_months, incremental),
    so the spine and the windows work on account-months, not on transactions. Rebuilt in full
    each time: late data for an old month corrects that month and every later closing balance.
-#}
{{ config(table_type='iceberg') }}
{%- set start_month = month_var_as_date('balance_start_month') -%}
{%- set end_month = month_var_as_date('balance_end_month') -%}

with

account_months as (
    select
        account_id,
        currency,
        month_start,
        net_amount,
        tx_count
    from {{ ref('int_transactions__summed_to_account_months') }}
),

bounds as (
    select
        {{ start_month if start_month else 'min(month_start)' }} as start_month,
        {{ end_month if end_month else 'max(month_start)' }} as end_month
    from account_months
    having count(*) > 0
),

window_months as (
    {{ month_starts('bounds') }}
),

accounts as (
    select distinct
        account_id,
        currency
    from account_months
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
        account_months.account_id,
        account_months.currency,
        account_months.month_start,
        false as is_in_window
    from account_months
    cross join bounds
    where account_months.month_start < bounds.start_month
),

activity as (
    select
        timeline.account_id,
        timeline.currency,
        timeline.month_start,
        timeline.is_in_window,
        coalesce(account_months.net_amount, 0) as net_amount,
        coalesce(account_months.tx_count, 0) as tx_count
    from timeline
    left join account_months
        on
            timeline.account_id = account_months.account_id
            and timeline.currency = account_months.currency
            and timeline.month_start = account_months.month_start
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
        cast(account_id as varchar) as account_id,
        cast(currency as varchar) as currency,
        cast(substr(cast(month_start as varchar), 1, 7) as varchar) as month,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as month_end,
        cast(case when tx_count > 0 then running_amount end as decimal(38, 2)) as balance,
        cast(case when running_tx_count > 0 then running_amount end as decimal(38, 2))
            as closing_balance,
        cast(tx_count as bigint) as tx_count
    from running
    where is_in_window
)

select * from final
