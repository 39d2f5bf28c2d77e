{#- A 'YYYY-MM' var as a DATE literal of the month's first day, or none when the var is empty.
    Refuses anything else with a clear message: vars reach SQL, so they are validated. A month
    before the floor of business time is refused too: no transaction can be in it, and a window
    reaching back to year 1 would make every account a row per month since then. -#}
{% macro month_var_as_date(name) %}
    {%- set value = var(name, '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.fullmatch('^[0-9]{4}-(0[1-9]|1[0-2])$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ name ~ "' must be a month as 'YYYY-MM' (for example 2024-01), got: " ~ value
        ) }}
    {%- endif -%}
    {%- set floor_month = business_time_floor_month() | trim -%}
    {%- if value < floor_month -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ name ~ "' must not be before " ~ floor_month
            ~ " (the floor of business time), got: " ~ value
        ) }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "-01' as date)") }}
{% endmacro %}

{#- A DATE as its 'YYYY-MM' month (the balances' month column). -#}
{% macro month_text(date_expr) -%}
    substr(cast({{ date_expr }} as varchar), 1, 7)
{%- endmacro %}

{#- The reporting window of the balances as two SQL expressions, first and last month (DATEs of
    the first day): the vars when set, else the first and last month_start of the relation
    aggregated (aggregate expressions: use them in a query over the account-month sums). A window
    whose start var is after its end var is refused when the model compiles; one that is
    reversed by the data (a start var after its last month, an end var before its first) fails
    the query that reads the bounds: neither builds an empty table. -#}
{% macro balance_window_bounds() %}
    {%- set start_month = month_var_as_date('balance_start_month') -%}
    {%- set end_month = month_var_as_date('balance_end_month') -%}
    {%- if start_month and end_month -%}
        {%- set start_text = var('balance_start_month') | string | trim -%}
        {%- set end_text = var('balance_end_month') | string | trim -%}
        {%- if start_text > end_text -%}
            {{ exceptions.raise_compiler_error(
                "reversed reporting window: var 'balance_start_month' (" ~ start_text
                ~ ") is after var 'balance_end_month' (" ~ end_text ~ ")"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- set bounds = [start_month or 'min(month_start)', end_month or 'max(month_start)'] -%}
    {%- if start_month and end_month -%}
        {{ return(bounds) }}
    {%- endif -%}
    {#- A bound from the data: the window is reversed when the data ends before the start var
        (or starts after the end var); known only when the query runs, so the query fails. -#}
    {%- if start_month -%}
        {%- set message -%}
            'reversed reporting window: var ''balance_start_month'' ({{ var('balance_start_month') | string | trim }}) is after the last month in the data (' || {{ month_text(bounds[1]) }} || ')'
        {%- endset -%}
    {%- elif end_month -%}
        {%- set message -%}
            'reversed reporting window: var ''balance_end_month'' ({{ var('balance_end_month') | string | trim }}) is before the first month in the data (' || {{ month_text(bounds[0]) }} || ')'
        {%- endset -%}
    {%- else -%}
        {%- set message -%}
            'reversed reporting window: ' || {{ month_text(bounds[0]) }} || ' to ' || {{ month_text(bounds[1]) }}
        {%- endset -%}
    {%- endif -%}
    {%- set checked_end -%}
        case
            when {{ bounds[0] }} <= {{ bounds[1] }} then {{ bounds[1] }}
            else cast({{ fail_query(message) }} as date)
        end
    {%- endset -%}
    {{ return([bounds[0], checked_end]) }}
{% endmacro %}

{#- Post-hook of the incremental balances: deletes the months outside the reporting window,
    which the merge cannot remove when the window shrinks. Nothing to delete in the usual build. -#}
{% macro delete_outside_balance_window(relation) %}
    {%- set sums = ref('int_transactions__summed_to_account_months') -%}
    {%- set bounds = balance_window_bounds() -%}
    delete from {{ relation }}
    where
        month < {{ month_text('(select ' ~ bounds[0] ~ ' from ' ~ sums ~ ' having count(*) > 0)') }}
        or month > {{ month_text('(select ' ~ bounds[1] ~ ' from ' ~ sums ~ ' having count(*) > 0)') }}
{% endmacro %}

{#- When a month closes, as a timestamp expression: 00:00 UTC, var month_close_days (a whole
    number of days, refused otherwise) after the end of the month starting at `month_start`. -#}
{% macro month_close_at(month_start) -%}
    {%- set days = var('month_close_days', 5) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{1,3}', days) -%}
        {{ exceptions.raise_compiler_error(
            "var 'month_close_days' must be a whole number of days (0 to 999), got: " ~ days
        ) }}
    {%- endif -%}
    cast(
        {{ dbt.dateadd('day', days | int, dbt.dateadd('month', 1, month_start)) }}
        as {{ timestamp_type() }}
    )
{%- endmacro %}
