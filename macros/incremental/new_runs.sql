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

{#- The build's start time as a timestamp literal (audit columns such as quarantined_at). -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ timestamp_type() }})
{%- endmacro %}

{#- Where a test's "latest build only" scope starts: the first run the latest build of
    `relation` wrote, as a validated literal; `stamp_column` is the relation's column holding
    the build's start time (classified_at; built_at for run_metrics). None - check every run -
    when the relation is missing or empty, when the latest build wrote every run (a first or
    full-refresh build: the plain check is the cheaper one) or when var check_all_runs is true. -#}
{% macro latest_build_scope(relation, stamp_column='classified_at') %}
    {%- if not execute or var('check_all_runs', false) or load_relation(relation) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = run_query(
        'select min(case when built.' ~ stamp_column ~ ' = latest.stamp'
        ~ ' then built.run_id end), min(built.run_id)'
        ~ ' from ' ~ relation ~ ' as built'
        ~ ' cross join (select max(' ~ stamp_column ~ ') as stamp from ' ~ relation
        ~ ') as latest'
    ).rows[0] -%}
    {%- if row[0] is none or row[0] == row[1] -%}{{ return(none) }}{%- endif -%}
    {{ return(checked_run_id(row[0], relation)) }}
{% endmacro %}

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
