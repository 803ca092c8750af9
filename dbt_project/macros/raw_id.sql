{#- A raw message's identity as one text, topic:partition:offset (topic names never hold a ':'). -#}
{% macro raw_id(relation) -%}
    {{ relation }}.raw_topic || ':' || {{ relation }}.raw_partition || ':' || {{ relation }}.raw_offset
{%- endmacro %}

{#-
    A copy's raw identity and content hash in one text, which the dedup window's first_value carries for
    the first copy of each key. Topic names never hold a '|'.
-#}
{% macro raw_copy_id(relation) -%}
    {{ raw_id(relation) }} || '|' || coalesce({{ relation }}.content_hash::text, '')
{%- endmacro %}
