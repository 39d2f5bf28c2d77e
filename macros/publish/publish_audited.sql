{#- Write, audit, publish: `dbt build` writes and tests the marts (the audit area); this macro,
    run by lakehouse publish only after a build in which every node passed
    (`dbt run-operation publish_audited`), makes the published relations (source `published`,
    models/marts/_marts__published.yml) show what that build audited. -#}
{% macro publish_audited() %}
    {{ return(adapter.dispatch('publish_audited', 'transaction_lakehouse')(published_pairs())) }}
{% endmacro %}

{#- [(audited mart, published relation)] for every table of source `published`: the mart is the
    model of the same name. -#}
{% macro published_pairs() %}
    {%- set pairs = [] -%}
    {%- if not execute -%}{{ return(pairs) }}{%- endif -%}
    {%- for source in graph.sources.values()
        if source.package_name == 'transaction_lakehouse' and source.source_name == 'published' -%}
        {%- set model = graph.nodes.get('model.transaction_lakehouse.' ~ source.name) -%}
        {%- if model is none -%}
            {{ exceptions.raise_compiler_error('published.' ~ source.name ~ ': no model of that name') }}
        {%- endif -%}
        {%- do pairs.append((
            api.Relation.create(
                database=model.database, schema=model.schema, identifier=model.alias, type='table'),
            api.Relation.create(
                database=source.database, schema=source.schema, identifier=source.identifier,
                type='table'),
        )) -%}
    {%- endfor -%}
    {{ return(pairs | sort(attribute='1.identifier')) }}
{% endmacro %}

{#- True when `relation` is a mart that has a published relation (its snapshots are pinned). -#}
{% macro is_published(relation) %}
    {%- for audited, published in published_pairs() -%}
        {%- if audited.schema == relation.schema and audited.identifier == relation.identifier -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}

{#- DuckDB (one database file, no time travel): a copy of every mart, all replaced in one
    transaction: a reader sees every previous copy or every new one, never a mix. -#}
{% macro default__publish_audited(pairs) %}
    {%- set statements = ['begin transaction'] -%}
    {%- for audited, published in pairs -%}
        {%- if loop.first -%}
            {%- do statements.append('create schema if not exists ' ~ published.schema) -%}
        {%- endif -%}
        {%- do statements.append(
            'create or replace table ' ~ published ~ ' as select * from ' ~ audited) -%}
    {%- endfor -%}
    {%- do statements.append('commit') -%}
    {%- do run_query(statements | join(';\n')) -%}
    {{ log('published ' ~ pairs | length ~ ' marts (copies)', info=true) }}
{% endmacro %}

{#- Athena (Iceberg): a view per mart over the snapshot the build left, read from the table's
    `$history` before any view changes. Athena runs one statement per query, so the views
    switch one after the other (each switch is atomic). Then, and only then, the mart's old
    snapshots are expired (VACUUM, which keeps the current snapshot, the one just published): the
    models' post-hooks skip VACUUM on published marts, so a snapshot stays as long as a view
    points at it, however long builds keep failing. -#}
{% macro athena__publish_audited(pairs) %}
    {%- set snapshots = [] -%}
    {%- for audited, published in pairs -%}
        {%- set history -%}
            select snapshot_id from {{ audited.schema }}."{{ audited.identifier }}$history"
            where is_current_ancestor order by made_current_at desc limit 1
        {%- endset -%}
        {%- set rows = run_query(history).rows -%}
        {%- if rows | length != 1 or not modules.re.fullmatch('-?[0-9]+', rows[0][0] | string) -%}
            {{ exceptions.raise_compiler_error(audited ~ ': no current snapshot to publish') }}
        {%- endif -%}
        {%- do snapshots.append(rows[0][0] | string) -%}
    {%- endfor -%}
    {%- for audited, published in pairs -%}
        {%- if loop.first -%}
            {%- do run_query('create database if not exists ' ~ published.schema) -%}
        {%- endif -%}
        {%- do run_query(
            'create or replace view ' ~ published ~ ' as select * from ' ~ audited
            ~ ' for version as of ' ~ snapshots[loop.index0]) -%}
        {{ log('published ' ~ published ~ ': ' ~ audited ~ ' at snapshot ' ~ snapshots[loop.index0], info=true) }}
    {%- endfor -%}
    {%- if var('iceberg_housekeeping', true) -%}
        {%- for audited, published in pairs -%}
            {%- do adapter.run_operation_with_potential_multiple_runs(
                'vacuum ' ~ audited.schema ~ '.' ~ audited.identifier, 'vacuum') -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
