{#-
    A copy's raw identity (topic:partition:offset) and content hash in one text, which the dedup window's
    first_value carries for the first copy of each key. Topic names never hold a '|' or a ':'.
-#}
{% macro raw_copy_id(relation) -%}
    {{ relation }}.raw_topic || ':' || {{ relation }}.raw_partition || ':' || {{ relation }}.raw_offset
    || '|' || coalesce({{ relation }}.content_hash::text, '')
{%- endmacro %}
