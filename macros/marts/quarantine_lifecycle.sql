{#- The quarantine's lifecycle (fct_quarantine_lifecycle, fct_quarantine_open_items). -#}

{#- Var quarantine_default_owner as a SQL text literal: the owner of a record no one assigned.
    Refused at compile time unless it is one line of 1 to 200 characters. -#}
{% macro quarantine_default_owner() -%}
    {%- set owner = var('quarantine_default_owner') | string -%}
    {%- if not modules.re.fullmatch('[^\\x00-\\x1f\\x7f]{1,200}', owner) or not owner.strip() -%}
        {{ exceptions.raise_compiler_error(
            'var quarantine_default_owner must be one line of 1 to 200 characters, got: '
            ~ owner
        ) }}
    {%- endif -%}
    '{{ owner.strip() | replace("'", "''") }}'
{%- endmacro %}

{#- Var quarantine_max_open_days as a whole number (days); refused at compile time otherwise. -#}
{% macro quarantine_max_open_days(value=none) -%}
    {%- set days = var('quarantine_max_open_days') if value is none else value -%}
    {%- if not modules.re.fullmatch('^[0-9]{1,5}$', days | string) -%}
        {{ exceptions.raise_compiler_error(
            'var quarantine_max_open_days must be a whole number of days, got: ' ~ days
        ) }}
    {%- endif -%}
    {{ return(days | int) }}
{%- endmacro %}
