{#- on-run-end: one line in the build's output for each run an alert fired on, naming the alert,
    the run, its file and the numbers that broke the rule (dbt itself prints only "Got N
    results"). The alert tests are the tests with an `alert` argument; their rows are read again
    with the SQL the test ran, at most `limit` per alert. Same on both engines. -#}
{% macro log_alert_failures(results, limit=20) %}
    {%- if execute -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- set alert = ((node.test_metadata or {}).kwargs or {}).get('alert')
                if node.resource_type == 'test' and node.test_metadata else none -%}
            {%- if alert and result.status in ('warn', 'fail') and node.compiled_code -%}
                {%- set rows = run_query(
                    'select * from (' ~ node.compiled_code ~ ') as alert_rows'
                    ~ ' order by run_id limit ' ~ (limit | int)
                ) -%}
                {%- for row in rows -%}
                    {%- set numbers = [] -%}
                    {%- for column in rows.column_names
                        if column not in ('run_id', 'source_file') -%}
                        {%- do numbers.append(column ~ '=' ~ row[column]) -%}
                    {%- endfor -%}
                    {{ log(
                        'alert ' ~ alert ~ ' (' ~ result.status ~ '): run ' ~ row['run_id']
                        ~ ' (file ' ~ row['source_file'] ~ '): ' ~ numbers | join(', '),
                        info=True
                    ) }}
                {%- endfor -%}
                {%- if (result.failures or 0) > (limit | int) -%}
                    {{ log('alert ' ~ alert ~ ': ' ~ (result.failures - (limit | int))
                        ~ ' more runs (dbt build --store-failures keeps them all)', info=True) }}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
