{#- Fails the query with `message` (a SQL text expression) when evaluated; typed as unknown, so
    cast it to the type the expression needs. Only evaluated where a CASE reaches it. -#}
{% macro fail_query(message) %}
    {{ return(adapter.dispatch('fail_query', 'transaction_lakehouse')(message)) }}
{% endmacro %}

{% macro default__fail_query(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro athena__fail_query(message) -%}
    fail({{ message }})
{%- endmacro %}
