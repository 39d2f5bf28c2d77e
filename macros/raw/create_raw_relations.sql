{#- Creates the raw layer's relations over the landed files, before every dbt command that runs
    models (on-run-start). They are what the `landing` source points at:
      landing.transaction_lines     one row per physical line of every landed file
      landing.transaction_manifests one row per landed run (the loader's _manifest.json)
      landing.alert_acknowledgements one row per acknowledgement file an operator wrote
                                    (lakehouse acknowledge) under acknowledgements/,
                                    a folder beside raw/
      operations.quarantine_decisions one row per decision file an operator wrote
                                    (lakehouse quarantine decide) under
                                    decisions/quarantine/, a folder beside raw/
    The files are read in place each time a model selects from them (base_landing__transaction_lines
    copies each new run's lines once). -#}
{% macro create_raw_relations() %}
    {{ return(adapter.dispatch('create_raw_relations', 'transaction_lakehouse')()) }}
{% endmacro %}

{#- An engine with no raw layer of its own: the raw relations read the lake's files in an
    engine-specific way (DuckDB's readers, Athena's external tables), so there is nothing to fall
    back on; compiling fails, naming the engine. -#}
{% macro default__create_raw_relations() %}
    {{ exceptions.raise_compiler_error(
        "create_raw_relations: no raw layer for adapter '" ~ adapter.type()
        ~ "' (implemented for duckdb and athena: macros/raw/)"
    ) }}
{% endmacro %}

{% macro lake_root_path() -%}
    {{ return(var('lake_root', env_var('LAKE_ROOT', 'lake')).rstrip('/')) }}
{%- endmacro %}

{% macro raw_transactions_root() -%}
    {{ return(lake_root_path() ~ '/raw/transactions') }}
{%- endmacro %}

{#- The acknowledgement files' folder in the lake; its name is also lakehouse.acknowledge's
    ACKNOWLEDGEMENTS_FOLDER. The files lie directly in it (no subfolders: Athena's unpartitioned
    table and Trino's Hive reader read only the objects at the table's location). -#}
{% macro acknowledgements_folder() -%}
    {{ return('acknowledgements') }}
{%- endmacro %}

{#- The quarantine decisions' folder in the lake; also lakehouse.quarantine's DECISIONS_FOLDER.
    The files lie directly in it (one flat prefix: Athena's unpartitioned table reads no
    subfolder of its location and skips names that start with _ or ., and DuckDB's reader is
    made to skip the same names). -#}
{% macro quarantine_decisions_folder() -%}
    {{ return('decisions/quarantine') }}
{%- endmacro %}

{#- The columns of a decision file, in file order (lakehouse.quarantine's DECISION_COLUMNS):
    every value is text in the file; staging types them. -#}
{% macro quarantine_decision_columns() -%}
    {{ return([
        'decision_id', 'run_id', 'line_number', 'action', 'owner', 'decided_by', 'decided_at',
        'reason',
    ]) }}
{%- endmacro %}

{#- A build over a lake where nothing has been landed succeeds with nothing to build: it says so
    in one warning line (exit status stays 0; `--warn-error` makes it a failure). -#}
{% macro warn_nothing_landed(where, how_to_land) %}
    {#- not for `dbt run-operation create_raw_relations`, which make prod runs before landing -#}
    {%- if flags.WHICH == 'run-operation' -%}{{ return('') }}{%- endif -%}
    {%- do exceptions.warn(
        'Warning: nothing has been landed in ' ~ where ~ ': this build has no data to build;'
        ~ ' land a file first: ' ~ how_to_land
    ) -%}
{% endmacro %}

{#- Manifest values become SQL literals and paths: refuse anything the loader would not write
    (fullmatch: a value with a final line break is refused too). -#}
{% macro validate_landed_run(run) %}
    {%- set checks = [
        (run[0], run_id_pattern(), 'run_id'),
        (run[1], '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', 'ingest_date'),
        (run[2], '^[A-Za-z0-9_-][A-Za-z0-9._-]*[.]csv$', 'file_name'),
    ] -%}
    {%- for value, pattern, name in checks -%}
        {%- if value is none or not modules.re.fullmatch(pattern, value) -%}
            {{ exceptions.raise_compiler_error(
                'landing manifest of run ' ~ run[0] ~ ' has an invalid ' ~ name ~ ': ' ~ value
            ) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
