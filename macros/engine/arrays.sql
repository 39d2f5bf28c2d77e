{#- Arrays of the parsed records (DuckDB lists, Trino arrays), 1-based on both engines. -#}

{% macro array_size(array) %}
    {{ return(adapter.dispatch('array_size', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro default__array_size(array) -%}
    len({{ array }})
{%- endmacro %}

{% macro athena__array_size(array) -%}
    cardinality({{ array }})
{%- endmacro %}

{#- 1-based element; NULL when the index is NULL or out of range. -#}
{% macro array_element(array, index) %}
    {{ return(adapter.dispatch('array_element', 'transaction_lakehouse')(array, index)) }}
{% endmacro %}

{% macro default__array_element(array, index) -%}
    list_extract({{ array }}, {{ index }})
{%- endmacro %}

{% macro athena__array_element(array, index) -%}
    element_at({{ array }}, {{ index }})
{%- endmacro %}

{#- 1-based position of a value in an array; NULL when absent. -#}
{% macro array_index_of(array, value) %}
    {{ return(adapter.dispatch('array_index_of', 'transaction_lakehouse')(array, value)) }}
{% endmacro %}

{% macro default__array_index_of(array, value) -%}
    nullif(coalesce(list_position({{ array }}, {{ value }}), 0), 0)
{%- endmacro %}

{% macro athena__array_index_of(array, value) -%}
    nullif(array_position({{ array }}, {{ value }}), 0)
{%- endmacro %}
