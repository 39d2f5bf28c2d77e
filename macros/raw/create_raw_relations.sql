{#- Creates the raw layer's relations over the landed files, before every dbt command that runs
    models (on-run-start). They are what the `landing` source points at:
      landing.transaction_lines     one row per physical line of every landed file
      landing.transaction_manifests one row per landed run (the loader's _manifest.json)
      landing.alert_acknowledgements one row per acknowledgement file an operator wrote
                                    (scripts/acknowledge_alert.py) under acknowledgements/,
                                    a folder beside raw/
    The files are read in place each time a model selects from them (base_landing__transaction_lines
    copies each new run's lines once). -#}
{% macro create_raw_relations() %}
    {{ return(adapter.dispatch('create_raw_relations', 'transaction_lakehouse')()) }}
{% endmacro %}

{% macro lake_root_path() -%}
    {{ return(var('lake_root', env_var('LAKE_ROOT', 'lake')).rstrip('/')) }}
{%- endmacro %}

{% macro raw_transactions_root() -%}
    {{ return(lake_root_path() ~ '/raw/transactions') }}
{%- endmacro %}

{#- The acknowledgement files' folder in the lake; its name is also scripts/acknowledge_alert.py's
    ACKNOWLEDGEMENTS_FOLDER. The files lie directly in it (no subfolders: Athena's unpartitioned
    table and Trino's Hive reader read only the objects at the table's location). -#}
{% macro acknowledgements_folder() -%}
    {{ return('acknowledgements') }}
{%- endmacro %}

{% macro duckdb__create_raw_relations() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = raw_transactions_root() -%}
    {%- if modules.re.search("['*?\\[\\]{}]", root) -%}
        {{ exceptions.raise_compiler_error(
            "lake_root must not contain a quote or a glob character (* ? [ ] { }): " ~ root
        ) }}
    {%- endif -%}
    {%- set schema = source('landing', 'transaction_lines').schema -%}
    {%- set manifest_glob = root ~ '/ingest_date=*/run_id=*/_manifest.json' -%}
    {%- set found = run_query("select count(*) from glob('" ~ manifest_glob ~ "')").columns[0].values()[0] -%}
    {%- set acknowledgement_glob = lake_root_path() ~ '/' ~ acknowledgements_folder() ~ '/*.json' -%}
    {%- set acknowledged = run_query(
        "select count(*) from glob('" ~ acknowledgement_glob ~ "')"
    ).columns[0].values()[0] -%}
    {%- set runs = [] -%}
    {%- if found > 0 -%}
        {%- set runs = run_query(
            "select run_id, cast(ingest_date as varchar) as ingest_date, file_name,"
            ~ " utf8_valid and not coalesce(contains_soh, false)"
            ~ " and coalesce(line_endings, 'mixed') <> 'mixed' as is_line_readable,"
            ~ " coalesce(odd_quote_lines, 1) > 0 as may_span_lines,"
            ~ " line_size_bound, line_text_limit"
            ~ " from (" ~ duckdb__raw_manifest_select(manifest_glob) ~ ") order by run_id"
        ).rows -%}
    {%- endif -%}
    {%- if runs | length == 0 -%}
        {%- do warn_nothing_landed(
            root,
            'python scripts/land_csv.py --lake-root ' ~ root.rsplit('/raw/transactions', 1)[0]
            ~ ' FILE.csv'
        ) -%}
    {%- endif -%}
    create schema if not exists {{ schema }};
    create or replace view {{ schema }}.transaction_manifests as
    {% if runs | length > 0 -%}
        {{ duckdb__raw_manifest_select(manifest_glob) }}
    {%- else -%}
        {{ duckdb__raw_manifest_select(none) }}
    {%- endif %};
    create or replace view {{ schema }}.alert_acknowledgements as
    {{ duckdb__acknowledgements_select(acknowledgement_glob if acknowledged > 0 else none) }};
    create or replace view {{ schema }}.transaction_lines as
    {% for run in runs -%}
        {%- do validate_landed_run(run) -%}
        {%- set path = root ~ '/ingest_date=' ~ run[1] ~ '/run_id=' ~ run[0] ~ '/' ~ run[2] -%}
        {{ duckdb__raw_lines_select(run, path) }}
        {%- if not loop.last %}
    union all
        {% endif -%}
    {%- else -%}
        select
            cast(null as varchar) as run_id,
            cast(null as date) as ingest_date,
            cast(null as varchar) as source_file,
            cast(null as bigint) as line_number,
            cast(null as varchar) as line_text,
            cast(null as boolean) as is_readable,
            cast(null as boolean) as may_span_lines,
            cast(null as bigint) as line_length
        where false
    {%- endfor %};
{% endmacro %}

{% macro duckdb__raw_manifest_select(manifest_glob) -%}
    {%- set columns = {
        'run_id': 'varchar', 'ingest_date': 'date', 'landed_at': 'timestamp',
        'source_path': 'varchar', 'file_name': 'varchar', 'bytes': 'bigint', 'sha256': 'varchar',
        'line_count': 'bigint', 'header': 'varchar', 'header_matches_contract': 'boolean',
        'header_fingerprint': 'varchar', 'utf8_valid': 'boolean',
        'contains_soh': 'boolean', 'odd_quote_lines': 'bigint', 'line_endings': 'varchar',
        'physical_lines': 'bigint', 'line_size_bound': 'bigint', 'line_text_limit': 'bigint',
        'contract_version': 'varchar',
    } -%}
    {%- if manifest_glob is none -%}
        select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
        where false
    {%- else -%}
        select
        {%- for name in columns %}
            {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
        from read_json(
            '{{ manifest_glob }}',
            format = 'unstructured',
            columns = { {%- for name, type in columns.items() -%}
                '{{ name }}': '{{ type }}'{{ ', ' if not loop.last }}
            {%- endfor -%} }
        )
    {%- endif -%}
{%- endmacro %}

{#- The acknowledgement files (one JSON object each), with the file's name; no file: no row. -#}
{% macro duckdb__acknowledgements_select(acknowledgement_glob) -%}
    {%- set columns = {
        'alert': 'varchar', 'run_id': 'varchar', 'acknowledged_by': 'varchar',
        'acknowledged_at': 'timestamp', 'reason': 'varchar',
    } -%}
    {%- if acknowledgement_glob is none -%}
        select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }},
        {%- endfor %}
            cast(null as varchar) as file_name
        where false
    {%- else -%}
        select
        {%- for name in columns %}
            {{ name }},
        {%- endfor %}
            parse_filename(filename) as file_name
        from read_json(
            '{{ acknowledgement_glob }}',
            format = 'unstructured',
            filename = true,
            columns = { {%- for name, type in columns.items() -%}
                '{{ name }}': '{{ type }}'{{ ', ' if not loop.last }}
            {%- endfor -%} }
        )
    {%- endif -%}
{%- endmacro %}

{#- One landed file as lines. Files the CSV reader can take go through it in line mode: a single
    column, no quote, no escape, U+0001 as delimiter, so each physical line is one value (blank
    lines included) and WITH ORDINALITY numbers them. The reader cannot take a file that is not
    valid UTF-8 (it aborts), that contains U+0001 (it would cut the line there) or that mixes line
    endings (after an LF line it reads CRLF as two breaks): the loader's manifest says which files
    those are, and they are split from their bytes instead, on CRLF, LF or a bare CR like the
    reader - slower, but no line is lost and bad lines keep a readable, escaped text. -#}
{% macro duckdb__raw_lines_select(run, path) -%}
    {%- set limit = run[6] | int if run[6] is not none else none -%}
    {%- if limit is none %}
        select *, length(line_text) as line_length
        from ({{ duckdb__raw_file_lines(run, path) }})
    {%- else %}
        {#- the first line_text_limit characters of a line (the loader's bound, recorded in the
            manifest; the S3 loader's line index keeps the same), its full length beside them; a
            cut line is not readable, so staging quarantines it -#}
        select
            run_id,
            ingest_date,
            source_file,
            line_number,
            substring(line_text, 1, {{ limit }}) as line_text,
            is_readable and coalesce(length(line_text), 0) <= {{ limit }} as is_readable,
            may_span_lines,
            length(line_text) as line_length
        from ({{ duckdb__raw_file_lines(run, path) }})
    {%- endif %}
{%- endmacro %}

{% macro duckdb__raw_file_lines(run, path) -%}
    {%- set run_id, ingest_date, file_name, is_line_readable = run[0], run[1], run[2], run[3] -%}
    {#- a file without a line holding an odd number of double quotes (the manifest says; older
        manifests: assume it has one) cannot hold a multi-line record: staging skips the
        quoted-span search for it -#}
    {%- set may_span_lines = 'true' if run[4] else 'false' -%}
    {%- set line_size_bound = run[5] | int if run[5] is not none else none -%}
    {%- if is_line_readable -%}
        select
            '{{ run_id }}' as run_id,
            date '{{ ingest_date }}' as ingest_date,
            '{{ file_name }}' as source_file,
            cast(lines.ordinality as bigint) as line_number,
            lines.line as line_text,
            true as is_readable,
            {{ may_span_lines }} as may_span_lines
        from read_csv(
            '{{ path }}',
            columns = {'line': 'varchar'},
            header = false,
            auto_detect = false,
            delim = chr(1),
            quote = '',
            escape = '',
            {%- if line_size_bound is not none %}
            {#- the reader's default (2 MB) would fail on a longer line, or drop a long last
                line without a word: the loader measured the file's lines -#}
            max_line_size = {{ [line_size_bound + 2, 2097152] | max }},
            {%- endif %}
            strict_mode = false
        ) with ordinality as lines
    {%- else -%}
        select
            '{{ run_id }}' as run_id,
            date '{{ ingest_date }}' as ingest_date,
            '{{ file_name }}' as source_file,
            cast(line_number as bigint) as line_number,
            {#- an invalid line keeps \xNN for the bytes that are not UTF-8; quote, apostrophe
                and backslash are given back (backslash last: the text never holds a bare one) -#}
            coalesce(
                try(decode(cast(escaped as blob))),
                replace(replace(replace(escaped, '\x22', '"'), '\x27', ''''), '\x5C', '\')
            ) as line_text,
            try(decode(cast(escaped as blob))) is not null as is_readable,
            {{ may_span_lines }} as may_span_lines
        from (
            select
                unnest(pieces) as piece,
                generate_subscripts(pieces, 1) as line_number,
                len(pieces) as piece_count
            from (
                select string_split_regex(
                    cast(content as varchar), '\\x0D\\x0A|\\x0A|\\x0D'
                ) as pieces
                from read_blob('{{ path }}')
            )
        ),
        lateral (
            select
                case
                    when line_number = 1 then regexp_replace(piece, '^\\xEF\\xBB\\xBF', '')
                    else piece
                end as escaped
        )
        where not (line_number = piece_count and piece = '')
    {%- endif -%}
{%- endmacro %}

{#- Athena: external tables over the raw S3 prefix, and views that give them the same shape as on
    DuckDB. Partitions (ingest_date, run_id) are registered by the S3 loader through the Glue API
    when it commits a run, so no MSCK REPAIR or crawler is needed. A Hive text table exposes no
    line position, so the lines come from the line index the S3 loader writes for each file
    (<file>.lines.jsonl.gz under transaction_line_index/, scripts/line_index.py): the same rows as
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
                'python scripts/land_csv.py --s3-uri s3://BUCKET/PREFIX --glue-database '
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
        partitioned like them (scripts/lake_landing_s3.py): Athena reads every object under a
        table's location -#}
    {%- set raw_root = location.rstrip('/').rsplit('/', 1)[0] ~ '/' -%}
    {%- set line_index_location = raw_root ~ 'transaction_line_index/' -%}
    {%- set manifest_location = raw_root ~ 'transaction_manifests/' -%}
    {#- the operators' acknowledgements: beside raw/, unpartitioned (the loader's Glue
        registration keeps to the tables beside raw/transactions/) -#}
    {%- set acknowledgement_location = raw_root.rstrip('/').rsplit('/', 1)[0] ~ '/'
        ~ acknowledgements_folder() ~ '/' -%}
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
    {{ return(statements) }}
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

{% macro print_raw_ddl() %}
    {%- for statement in athena_raw_ddl_statements() %}
        {{ print(statement ~ '\n;') }}
    {%- endfor %}
{% endmacro %}
