{#- Incremental models process only runs landed after the last run they already hold. run_ids
    sort by landing time and the loader assigns them in commit order under a lock, so
    "greater than the last one" is exactly "not yet processed". The bound is a literal so that the
    raw-layer scan of older runs is pruned at planning time. -#}
{% macro last_processed_run_id(relation, column='run_id') %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {#- a table built before the column existed: nothing is known to be processed -#}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name')
        | map('lower') | list -%}
    {%- if column not in names -%}{{ return(none) }}{%- endif -%}
    {%- set last = run_query(
        'select max(' ~ column ~ ') from ' ~ relation
    ).columns[0].values()[0] -%}
    {{ return(checked_run_id(last, relation)) }}
{% endmacro %}

{#- `column`: the run_id column filtered on; `processed_column`: the column of this model that
    holds the last run it processed (run_id, or for aggregates, the latest run of a group);
    `landed_column`: the relation's landing-moment column, if it has one. A run_id begins with
    its landing moment, so every newer run landed at or after the last one: the bound on that
    column changes no result, but lets the engine skip the stored blocks of older runs (its
    block statistics keep only the first bytes of a text, the date part of a run_id). -#}
{% macro new_runs_only(column='run_id', processed_column='run_id', landed_column=none) -%}
    {%- set last = last_processed_run_id(this, processed_column) if is_incremental() else none -%}
    {%- if last is not none -%}
        {{ column }} > '{{ last }}'
        {%- if landed_column is not none %} and {{ landed_column }} >= {{ run_landed_at_literal(last) }}{% endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
