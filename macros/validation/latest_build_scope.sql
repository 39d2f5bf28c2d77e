{#- Where a test's "latest build only" scope starts: the first run the latest build of
    `relation` wrote, as a validated literal; `stamp_column` is the relation's column holding
    the build's start time (classified_at; built_at for fct_run_metrics). None - check every run -
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
