{#- The engine-specific pieces of the marts' per-run checksums (macros/publish/chain_checksums.sql,
    the chain of `_SUCCESS` markers): a timestamp as canonical text, the first 60 bits of a
    text's md5 as a bigint, and a decimal(38, 0) as hexadecimal. Both engines give the same
    values for the same rows: the same text, the same md5 of its UTF-8 bytes, the same hex. -#}

{#- A timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' (always six digits of fraction). -#}
{% macro checksum_timestamp_text(expr) %}
    {{ return(adapter.dispatch('checksum_timestamp_text', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{% macro default__checksum_timestamp_text(expr) -%}
    strftime({{ expr }}, '%Y-%m-%d %H:%M:%S.%f')
{%- endmacro %}

{#- Trino renders a timestamp(6) with its six digits of fraction. -#}
{% macro athena__checksum_timestamp_text(expr) -%}
    cast(cast({{ expr }} as timestamp(6)) as varchar)
{%- endmacro %}

{#- The first 15 hex digits (60 bits) of the md5 of a text's UTF-8 bytes, as a bigint in
    [0, 2^60): summed over 10^18 rows it still fits a decimal(38, 0). -#}
{% macro md5_prefix_60(text_expr) %}
    {{ return(adapter.dispatch('md5_prefix_60', 'transaction_lakehouse')(text_expr)) }}
{% endmacro %}

{% macro default__md5_prefix_60(text_expr) -%}
    cast('0x' || substr(md5({{ text_expr }}), 1, 15) as bigint)
{%- endmacro %}

{% macro athena__md5_prefix_60(text_expr) -%}
    from_base(substr(to_hex(md5(to_utf8({{ text_expr }}))), 1, 15), 16)
{%- endmacro %}

{#- A non-negative decimal(38, 0) as lowercase hexadecimal without leading zeros ('0' for 0). -#}
{% macro decimal_as_hex(expr) %}
    {{ return(adapter.dispatch('decimal_as_hex', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{% macro default__decimal_as_hex(expr) -%}
    lower(hex(cast({{ expr }} as hugeint)))
{%- endmacro %}

{#- Trino's to_base takes a bigint: the value in two parts of 60 bits (the high part is below
    2^63 for any sum this project makes: fewer than 2^63 rows). Decimal division of a multiple
    of 2^60 is exact. -#}
{% macro athena__decimal_as_hex(expr) -%}
    {%- set two_60 = 'cast(1152921504606846976 as decimal(38, 0))' -%}
    case
        when {{ expr }} < {{ two_60 }} then to_base(cast({{ expr }} as bigint), 16)
        else
            to_base(cast(({{ expr }} - mod({{ expr }}, {{ two_60 }})) / {{ two_60 }} as bigint), 16)
            || lpad(to_base(cast(mod({{ expr }}, {{ two_60 }}) as bigint), 16), 15, '0')
    end
{%- endmacro %}
