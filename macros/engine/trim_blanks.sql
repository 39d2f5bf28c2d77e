{#- Removes surrounding blanks (spaces and tabs). -#}
{% macro trim_blanks(expr) %}
    {{ return(adapter.dispatch('trim_blanks', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{#- DuckDB (the default): most values have nothing to trim, and checking the ends first is about twice as
    fast as trim() with a character set. -#}
{% macro default__trim_blanks(expr) -%}
    case
        when
            prefix({{ expr }}, ' ') or suffix({{ expr }}, ' ')
            or prefix({{ expr }}, chr(9)) or suffix({{ expr }}, chr(9))
            then trim({{ expr }}, ' ' || chr(9))
        else {{ expr }}
    end
{%- endmacro %}

{% macro athena__trim_blanks(expr) -%}
    trim({{ expr }}, ' ' || chr(9))
{%- endmacro %}

{#- Applies trim_blanks() to every element of an array of strings. -#}
{% macro trim_blanks_each(array) %}
    {{ return(adapter.dispatch('trim_blanks_each', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro default__trim_blanks_each(array) -%}
    list_transform({{ array }}, lambda f: {{ trim_blanks('f') }})
{%- endmacro %}

{% macro athena__trim_blanks_each(array) -%}
    transform({{ array }}, f -> {{ trim_blanks('f') }})
{%- endmacro %}
