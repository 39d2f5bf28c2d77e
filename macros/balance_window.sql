{#- A 'YYYY-MM' var as a DATE literal of the month's first day, or none when the var is empty.
    Refuses anything else with a clear message: vars reach SQL, so they are validated. -#}
{% macro month_var_as_date(name) %}
    {%- set value = var(name, '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ name ~ "' must be a month as 'YYYY-MM' (for example 2024-01), got: " ~ value
        ) }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "-01' as date)") }}
{% endmacro %}
