{#- Fails for every combination of `columns` that occurs more than once. Two ways to check only
    what the latest build wrote (earlier keys were checked by the build that wrote them; var
    check_all_runs: true checks everything):
      latest_build_only     keys of the rows from the runs the latest build of `build_log`
                            (default: the model itself; a model with classified_at) classified.
                            A key that includes run_id can only repeat within its run, so the
                            scope is then a plain filter; otherwise the key must be one column.
      latest_rows_column    keys of the rows whose `latest_rows_column` holds its greatest value
                            (a model that stamps the rows a build writes with the build's latest
                            run, such as last_run_id). When every row holds the same
                            value (a first or full-refresh build wrote them all), the plain
                            check is the cheaper one and is used.
    Scoped keys are looked up in the whole model. -#}
{% test unique_combination(
    model, columns, latest_build_only=false, build_log=none, latest_rows_column=none
) %}
    {%- set first_run = latest_build_scope(build_log or model) if latest_build_only else none %}
    {%- set stamp = none if var('check_all_runs', false) else latest_rows_column %}
    {%- if stamp and execute and load_relation(model) is not none -%}
        {%- set spread = run_query(
            'select min(' ~ stamp ~ ') < max(' ~ stamp ~ ') from ' ~ model
        ).columns[0].values()[0] -%}
        {%- if not spread %}{% set stamp = none %}{% endif -%}
    {%- endif %}
    {%- if first_run and 'run_id' not in columns and columns | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            'unique_combination: latest_build_only needs run_id in the key or a single column'
        ) }}
    {%- endif %}
    {%- if stamp %}
    with

    latest_keys as (
        select distinct {{ columns | join(', ') }}
        from {{ model }}
        where {{ stamp }} = (select max({{ stamp }}) from {{ model }})
    )

    select
        {%- for column in columns %}
        scoped.{{ column }},
        {%- endfor %}
        count(*) as occurrences
    from {{ model }} as scoped
    inner join latest_keys
        on
        {%- for column in columns %}
            {{ 'and ' if not loop.first }}scoped.{{ column }} = latest_keys.{{ column }}
        {%- endfor %}
    group by
        {%- for column in columns %}
        scoped.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    having count(*) > 1
    {%- else %}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    {%- if first_run and 'run_id' in columns %}
    where run_id >= '{{ first_run }}'
    {%- elif first_run %}
    where {{ columns[0] }} in (
        select latest.{{ columns[0] }}
        from {{ model }} as latest
        where latest.run_id >= '{{ first_run }}'
    )
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
    {%- endif %}
{% endtest %}
