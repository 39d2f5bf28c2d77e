{#- Regular expressions applied to a value: the only place the models' regex functions are
    written (RE2 on DuckDB, Joni on Trino; see csv_fields.sql on the patterns' shape). -#}

{% macro regex_matches(expr, pattern) %}
    {{ return(adapter.dispatch('regex_matches', 'transaction_lakehouse')(expr, pattern)) }}
{% endmacro %}

{% macro default__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro athena__regex_matches(expr, pattern) -%}
    regexp_like({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Capture group `group` of the first match; NULL when there is no match or the group is empty. -#}
{% macro regex_group(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}
