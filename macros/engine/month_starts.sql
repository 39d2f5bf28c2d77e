{#- First day of every month from start_month to end_month (DATE columns of the one-row
    relation `bounds`), one row each, as a query with the single column month_start. -#}
{% macro month_starts(bounds) %}
    {{ return(adapter.dispatch('month_starts', 'transaction_lakehouse')(bounds)) }}
{% endmacro %}

{% macro default__month_starts(bounds) -%}
    select cast(unnest(generate_series(
        cast(start_month as timestamp), cast(end_month as timestamp), interval 1 month
    )) as date) as month_start
    from {{ bounds }}
{%- endmacro %}

{% macro athena__month_starts(bounds) -%}
    select series.month_start
    from {{ bounds }}
    cross join unnest(sequence(start_month, end_month, interval '1' month)) as series (month_start)
{%- endmacro %}
