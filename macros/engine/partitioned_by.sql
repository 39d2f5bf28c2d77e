{#- The models' partitioned_by is Athena's (Iceberg and Hive partitions). dbt-duckdb applies it
    only to DuckLake tables and, for a plain DuckDB file such as the local warehouse, notes once
    per model that it ignores it: a note on every local build that does not apply. This override
    of dbt-duckdb's macro (the root project's macro of the same name wins) returns none for a
    relation outside DuckLake without the note, and keeps dbt-duckdb's behaviour for DuckLake.
    The models' config, and so Athena's compiled config, is unchanged. -#}
{% macro duckdb__get_partitioned_by(relation, temporary) -%}
    {%- if not adapter.is_ducklake(relation) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(dbt_duckdb.duckdb__get_partitioned_by(relation, temporary)) }}
{%- endmacro %}
