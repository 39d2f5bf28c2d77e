{#- The transactions file contract as dbt sees it: header name -> model column, in file order,
    and whether the column is required. Must agree with contracts/transactions.schema.json (the
    source of truth; `make lint` checks). Optional columns (added by minor contract versions) may
    be absent from a file and are carried to fct_transactions as trimmed text. -#}
{% macro transaction_file_columns() %}
    {{ return([
        {'header': 'TransactionID', 'column': 'transaction_id', 'required': true},
        {'header': 'CustomerID', 'column': 'customer_id', 'required': true},
        {'header': 'TransactionAmount', 'column': 'transaction_amount', 'required': true},
        {'header': 'Currency', 'column': 'currency', 'required': true},
        {'header': 'TransactionTimestamp', 'column': 'transaction_timestamp', 'required': true},
    ]) }}
{% endmacro %}

{#- Regular expressions of the accepted text forms (one place; used by staging and the docs). Each is
    the contract's pattern written for both SQL engines: it ends with \z, the end of the text for
    RE2 (DuckDB) and Java's syntax (Trino) alike, where the contract (JSON Schema) writes $; in
    Java's syntax $ also matches before a final line break ('1.00' + LF would pass, then fail the
    cast). check-drift compares them with that one difference. -#}
{% macro amount_pattern() -%}
    {#- optional sign, at most 16 significant integer digits, at most 2 decimals (extra trailing
        zeros are exact and accepted: 1.2300 = 1.23); no thousands separators, no exponent -#}
    ^[+-]?0*[0-9]{1,16}(\.[0-9]{1,2}0*)?\z
{%- endmacro %}

{% macro timestamp_pattern() -%}
    {#- date, time, optional fraction (1-9 digits), optional zone (Z, +HH:MM, +HHMM, +HH) -#}
    ^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?\z
{%- endmacro %}

{#- The fraction of a timestamp's tail (what follows the seconds), dot included: capture group 1. -#}
{% macro timestamp_fraction_pattern() -%}
    ^([.][0-9]+)
{%- endmacro %}
