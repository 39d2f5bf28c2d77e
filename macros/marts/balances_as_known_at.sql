{#- Every month-end balance as it was known at a run (run_id: what fct_month_end_balances said
    right after that run's build) or at a moment (moment: 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]',
    UTC: after every run landed by then), on the reporting window's spine as the mart shows it:
    the columns of fct_month_end_balances but last_run_id. Neither: as known now. A query
    (select ...), for `dbt show --inline` or analyses/month_end_balances_as_known_at.sql.
    The window is the reporting window of that state: the vars when set, else the first to the
    last month known then. -#}
{% macro month_end_balances_as_known_at(run_id=none, moment=none) %}
    {%- if run_id is not none and moment is not none -%}
        {{ exceptions.raise_compiler_error(
            'month_end_balances_as_known_at: give run_id or moment, not both'
        ) }}
    {%- endif -%}
    {%- if run_id is not none -%}
        {%- set run_id = checked_run_id(run_id | string | trim, 'as known at') -%}
        {%- set known -%}
            known_from_run_id <= '{{ run_id }}'
            and (known_until_run_id is null or known_until_run_id > '{{ run_id }}')
        {%- endset -%}
    {%- elif moment is not none -%}
        {%- set moment = moment | string | trim -%}
        {%- if not modules.re.fullmatch(
            '[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?', moment
        ) -%}
            {{ exceptions.raise_compiler_error(
                "as known at: a moment is 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]' (UTC), got: " ~ moment
            ) }}
        {%- endif -%}
        {%- set at = "cast('" ~ moment | replace('T', ' ') ~ "' as " ~ timestamp_type() ~ ")" -%}
        {%- set known -%}
            known_from <= {{ at }} and (known_until is null or known_until > {{ at }})
        {%- endset -%}
    {%- else -%}
        {%- set known = 'known_until_run_id is null' -%}
    {%- endif -%}
    {%- set window_bounds = balance_window_bounds() -%}

with

known_versions as (
    select
        account_id,
        currency,
        cast(month || '-01' as date) as month_start,
        balance,
        tx_count
    from {{ ref('fct_month_end_balance_history') }}
    where {{ known }}
),

bounds as (
    select
        {{ window_bounds[0] }} as start_month,
        {{ window_bounds[1] }} as end_month
    from known_versions
    having count(*) > 0
),

window_months as (
    {{ month_starts('bounds') }}
),

accounts as (
    select distinct
        account_id,
        currency
    from known_versions
),

-- the window's months for every account, plus every earlier month with transactions: history
-- before the window reaches the closing balance
timeline as (
    select
        accounts.account_id,
        accounts.currency,
        window_months.month_start,
        true as is_in_window
    from accounts
    cross join window_months
    union all
    select
        known_versions.account_id,
        known_versions.currency,
        known_versions.month_start,
        false as is_in_window
    from known_versions
    cross join bounds
    where known_versions.month_start < bounds.start_month
),

months as (
    select
        timeline.account_id,
        timeline.currency,
        timeline.month_start,
        timeline.is_in_window,
        known_versions.balance,
        coalesce(known_versions.tx_count, 0) as tx_count
    from timeline
    left join known_versions
        on
            timeline.account_id = known_versions.account_id
            and timeline.currency = known_versions.currency
            and timeline.month_start = known_versions.month_start
),

-- a month without transactions belongs to the group of the latest earlier month with them
grouped as (
    select
        *,
        count(balance) over (
            partition by account_id, currency
            order by month_start
            rows between unbounded preceding and current row
        ) as balance_group
    from months
),

carried as (
    select
        *,
        max(balance) over (partition by account_id, currency, balance_group) as carried_balance
    from grouped
),

final as (
    select
        cast(account_id as varchar) as account_id,
        cast(currency as varchar) as currency,
        cast({{ month_text('month_start') }} as varchar) as month,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as month_end,
        cast(balance as decimal(38, 2)) as balance,
        cast(carried_balance as decimal(38, 2)) as closing_balance,
        cast(tx_count as bigint) as tx_count
    from carried
    where is_in_window
)

select * from final
{% endmacro %}
