{#- Athena: external tables over the raw S3 prefix, and views that give them the same shape as on
    DuckDB. Partitions (ingest_date, run_id) are registered by the S3 loader through the Glue API
    when it commits a run, so no MSCK REPAIR or crawler is needed. A Hive text table exposes no
    line position, so the lines come from the line index the S3 loader writes for each file
    (<file>.lines.jsonl.gz under transaction_line_index/, lakehouse.line_index): the same rows as
    DuckDB's transaction_lines, line numbers included. The manifests come from the loader's
    visible copies under transaction_manifests/ (Athena's Hive reader skips _manifest.json).
    Each table reads only its own folder, so a build reads no CSV byte for the manifests and the
    line index. transaction_files (the raw text) and transactions_csv (the CSV parsed by
    OpenCSVSerDe) are for audit queries only. -#}
{% macro athena__create_raw_relations() %}
    {%- if execute -%}
        {%- set upgraded = [] -%}
        {%- for statement in athena_raw_ddl_statements() -%}
            {%- if statement.strip().startswith('create or replace view') and not upgraded -%}
                {%- do athena_add_later_raw_columns() -%}
                {%- do upgraded.append(true) -%}
            {%- endif -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
        {#- one small query (the manifests' copies only, no CSV byte): a build with no run
            registered says so -#}
        {%- set relation = source('landing', 'transaction_manifests') -%}
        {%- set counted = run_query(
            'select count(*) from ' ~ relation.schema ~ '.transaction_manifests'
        ) -%}
        {%- if counted.rows | length > 0 and counted.rows[0][0] == 0 -%}
            {%- do warn_nothing_landed(
                var('raw_s3_uri', env_var('RAW_S3_URI', 's3://change-me-lakehouse/raw/transactions/'))
                ~ ' (no run registered in ' ~ relation.schema ~ '.transaction_manifests)',
                'lakehouse land --s3-uri s3://BUCKET/PREFIX --glue-database '
                ~ relation.schema ~ ' FILE.csv'
            ) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- `create external table if not exists` leaves a table created by an earlier release as it
    was: the columns added since are added to it here (Glue keeps the columns of the partitions
    registered before: their rows read NULL there, as an older loader wrote no such key). -#}
{% macro athena_add_later_raw_columns() %}
    {%- set schema = source('landing', 'transaction_lines').schema -%}
    {%- set later = [
        ('transaction_manifest_files', 'physical_lines', 'bigint'),
        ('transaction_line_index', 'line_length', 'bigint'),
    ] -%}
    {%- for table, column, type in later -%}
        {%- set found = run_query(
            "select count(*) from information_schema.columns where table_schema = '"
            ~ schema ~ "' and table_name = '" ~ table ~ "' and column_name = '" ~ column ~ "'"
        ) -%}
        {%- if found.rows | length > 0 and found.rows[0][0] == 0 -%}
            {%- do run_query(
                'alter table ' ~ schema ~ '.' ~ table ~ ' add columns (' ~ column ~ ' ' ~ type ~ ')'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{#- The statements, one per Athena query; `dbt run-operation print_raw_ddl --target athena`
    prints them (the offline tests parse them as Athena SQL). -#}
{% macro athena_raw_ddl_statements() %}
    {%- set relation = source('landing', 'transaction_lines') -%}
    {%- set schema = relation.schema -%}
    {%- set location = var('raw_s3_uri', env_var('RAW_S3_URI', 's3://change-me-lakehouse/raw/transactions/')) -%}
    {%- if not modules.re.fullmatch('^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._=/-]*)?$', location) -%}
        {{ exceptions.raise_compiler_error('raw_s3_uri must be an s3:// prefix, got: ' ~ location) }}
    {%- endif -%}
    {#- what Athena reads instead of the runs' own objects lives in folders beside the raw files,
        partitioned like them (lakehouse.landing_s3): Athena reads every object under a
        table's location -#}
    {%- set raw_root = location.rstrip('/').rsplit('/', 1)[0] ~ '/' -%}
    {%- set line_index_location = raw_root ~ 'transaction_line_index/' -%}
    {%- set manifest_location = raw_root ~ 'transaction_manifests/' -%}
    {#- the operators' acknowledgements: beside raw/, unpartitioned (the loader's Glue
        registration keeps to the tables beside raw/transactions/) -#}
    {%- set acknowledgement_location = raw_root.rstrip('/').rsplit('/', 1)[0] ~ '/'
        ~ acknowledgements_folder() ~ '/' -%}
    {#- the operators' quarantine decisions (lakehouse quarantine decide): one flat prefix
        beside raw/, unpartitioned -#}
    {%- set decision_location = raw_root.rstrip('/').rsplit('/', 1)[0] ~ '/'
        ~ quarantine_decisions_folder() ~ '/' -%}
    {#- Athena runs Hive DDL (here, and dbt-athena's ALTER TABLE ... ADD COLUMNS) in the
        profile's base schema, which must exist (dbt-athena issue 751); dbt creates only the
        schemas it writes models to. -#}
    {%- set statements = [] -%}
    {%- for database in [target.schema, schema] -%}
        {%- set statement -%}
            create database if not exists {{ database }}
        {%- endset -%}
        {%- do statements.append(statement) -%}
    {%- endfor -%}
    {%- set statement -%}
        create external table if not exists {{ schema }}.transaction_files (
            line_text string
        )
        partitioned by (ingest_date string, run_id string)
        row format delimited fields terminated by '\001' lines terminated by '\n'
        stored as textfile
        location '{{ location }}'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create external table if not exists {{ schema }}.transaction_manifest_files (
            run_id string,
            landed_at string,
            source_path string,
            file_name string,
            bytes bigint,
            sha256 string,
            line_count bigint,
            header string,
            header_matches_contract boolean,
            header_fingerprint string,
            utf8_valid boolean,
            contains_soh boolean,
            odd_quote_lines bigint,
            contract_version string,
            physical_lines bigint
        )
        partitioned by (ingest_date string, run_key string)
        row format serde 'org.openx.data.jsonserde.JsonSerDe'
        with serdeproperties ('ignore.malformed.json' = 'true')
        location '{{ manifest_location }}'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create external table if not exists {{ schema }}.transaction_line_index (
            line_number bigint,
            line_text string,
            is_readable boolean,
            line_length bigint
        )
        partitioned by (ingest_date string, run_id string)
        row format serde 'org.openx.data.jsonserde.JsonSerDe'
        with serdeproperties ('ignore.malformed.json' = 'true')
        location '{{ line_index_location }}'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {#- OpenCSVSerDe's escape character is a backslash unless set, and it would drop the
        backslashes of the audited values: U+0001 (Hive reads '\001' as that character), which
        the loader reports as contains_soh -#}
    {%- set statement -%}
        create external table if not exists {{ schema }}.transactions_csv_files (
        {%- for column in transaction_file_columns() %}
            {{ column.column }} string{{ ',' if not loop.last }}
        {%- endfor %}
        )
        partitioned by (ingest_date string, run_id string)
        row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
        with serdeproperties ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
        location '{{ location }}'
        tblproperties ('skip.header.line.count' = '1')
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create external table if not exists {{ schema }}.alert_acknowledgement_files (
            alert string,
            run_id string,
            acknowledged_by string,
            acknowledged_at string,
            reason string
        )
        row format serde 'org.openx.data.jsonserde.JsonSerDe'
        with serdeproperties ('ignore.malformed.json' = 'true')
        location '{{ acknowledgement_location }}'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {#- a header and one row per file, every value text; OpenCSVSerDe's escape is U+0001 as
        for the CSV files above (a doubled quote inside a quoted value is one quote) -#}
    {%- set statement -%}
        create external table if not exists {{ schema }}.quarantine_decision_files (
        {%- for column in quarantine_decision_columns() %}
            {{ column }} string{{ ',' if not loop.last }}
        {%- endfor %}
        )
        row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
        with serdeproperties ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
        location '{{ decision_location }}'
        tblproperties ('skip.header.line.count' = '1')
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create or replace view {{ schema }}.transaction_lines as
        select
            lines.run_id,
            cast(lines.ingest_date as date) as ingest_date,
            regexp_replace(
                element_at(split(lines."$path", '/'), -1), '[.]lines[.]jsonl[.]gz\z', ''
            ) as source_file,
            lines.line_number,
            lines.line_text,
            lines.is_readable,
            -- as on DuckDB: a file without a line holding an odd number of double quotes cannot
            -- hold a multi-line record, and staging skips the quoted-span search for it (the
            -- loader's manifest says; an older manifest: assume it can)
            coalesce(manifests.odd_quote_lines, 1) > 0 as may_span_lines,
            -- the loader keeps a line's first characters and its full length (line_index.py)
            lines.line_length
        from {{ schema }}.transaction_line_index as lines
        left join {{ schema }}.transaction_manifest_files as manifests
            on
                lines.run_id = manifests.run_key
                and manifests."$path" like '%.csv.manifest.json'
        where lines."$path" like '%.lines.jsonl.gz'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create or replace view {{ schema }}.transactions_csv as
        select
        {%- for column in transaction_file_columns() %}
            {{ column.column }},
        {%- endfor %}
            run_id,
            cast(ingest_date as date) as ingest_date,
            element_at(split("$path", '/'), -1) as source_file
        from {{ schema }}.transactions_csv_files
        where "$path" like '%.csv'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create or replace view {{ schema }}.transaction_manifests as
        select
            run_id,
            cast(ingest_date as date) as ingest_date,
            {#- the manifest's microseconds: from_iso8601_timestamp keeps milliseconds -#}
            cast(
                from_iso8601_timestamp_nanos(landed_at) at time zone 'UTC' as timestamp(6)
            ) as landed_at,
            source_path,
            file_name,
            bytes,
            sha256,
            line_count,
            header,
            header_matches_contract,
            header_fingerprint,
            utf8_valid,
            contains_soh,
            odd_quote_lines,
            contract_version,
            physical_lines
        from {{ schema }}.transaction_manifest_files
        {#- the loader's visible copy of _manifest.json: Trino's Hive reader, Athena's engine,
            skips objects whose name starts with _ or . #}
        where "$path" like '%.csv.manifest.json'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create or replace view {{ schema }}.alert_acknowledgements as
        select
            alert,
            run_id,
            acknowledged_by,
            cast(
                from_iso8601_timestamp_nanos(acknowledged_at) at time zone 'UTC' as timestamp(6)
            ) as acknowledged_at,
            reason,
            element_at(split("$path", '/'), -1) as file_name
        from {{ schema }}.alert_acknowledgement_files
        where "$path" like '%.json'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {%- set statement -%}
        create or replace view {{ schema }}.quarantine_decisions as
        select
        {%- for column in quarantine_decision_columns() %}
            {{ column }},
        {%- endfor %}
            element_at(split("$path", '/'), -1) as file_name
        from {{ schema }}.quarantine_decision_files
        where "$path" like '%.csv'
    {%- endset -%}
    {%- do statements.append(statement) -%}
    {{ return(statements) }}
{% endmacro %}

{% macro print_raw_ddl() %}
    {%- for statement in athena_raw_ddl_statements() %}
        {{ print(statement ~ '\n;') }}
    {%- endfor %}
{% endmacro %}
