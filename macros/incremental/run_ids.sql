{#- run_ids (YYYYMMDDTHHMMSSffffffZ_<8 hex>, the loader's): checked before they reach SQL, and
    the landing moment each begins with. -#}

{#- run_ids read back from a table become SQL literals: refuse anything the loader would not
    write. Jinja's checks use fullmatch: with match, Python's $ also accepts a final line break. -#}
{% macro checked_run_id(value, relation) %}
    {%- if value is not none and not modules.re.fullmatch(run_id_pattern(), value) -%}
        {{ exceptions.raise_compiler_error('unexpected run_id in ' ~ relation ~ ': ' ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{% macro run_id_pattern() -%}
    {{ return('^[0-9]{8}T[0-9]{12}Z_[0-9a-f]{8}$') }}
{%- endmacro %}

{#- The landing moment a run_id begins with (YYYYMMDDTHHMMSSffffff, UTC), as a timestamp: from a
    column or any SQL expression of a run_id (SQL both engines run). -#}
{% macro run_landed_at(run_id_column) -%}
    cast(
        substr({{ run_id_column }}, 1, 4) || '-' || substr({{ run_id_column }}, 5, 2) || '-'
        || substr({{ run_id_column }}, 7, 2) || ' ' || substr({{ run_id_column }}, 10, 2) || ':'
        || substr({{ run_id_column }}, 12, 2) || ':' || substr({{ run_id_column }}, 14, 2) || '.'
        || substr({{ run_id_column }}, 16, 6)
        as {{ timestamp_type() }}
    )
{%- endmacro %}

{#- The same for a checked run_id value: a constant expression, which the engine folds before it
    pushes the bound into the table scan. -#}
{% macro run_landed_at_literal(run_id) -%}
    {{ run_landed_at("'" ~ checked_run_id(run_id, 'a run bound') ~ "'") }}
{%- endmacro %}
