{#- Fails for every combination of `columns` that occurs more than once. With
    latest_build_only, only the keys of rows from the runs the latest build of `build_log`
    (default: the model itself; a model with classified_at) classified are checked, against the
    whole model: earlier keys were checked by the build that added them. A key that includes
    run_id can only repeat within its run, so the scope is then a plain filter; otherwise the
    key must be a single column, looked up in the whole model. -#}
{% test unique_combination(model, columns, latest_build_only=false, build_log=none) %}
    {%- set first_run = latest_build_scope(build_log or model) if latest_build_only else none %}
    {%- if first_run and 'run_id' not in columns and columns | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            'unique_combination: latest_build_only needs run_id in the key or a single column'
        ) }}
    {%- endif %}
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
{% endtest %}
