"""Every code xlreport reports, with what it means: one catalogue, read by people and by programs.

:data:`PROBLEMS` are the codes of problems in a report's *data* (``Problem.code``; exit code 1 when
one is an error).  :data:`REFUSALS` are the codes of inputs or requests xlreport refuses to work on
(``XlreportError.code``; exit code 2), also written as ``reason`` of an ``unreadable`` line in
``collect``'s ``problems.jsonl``.  ``docs/codes.md`` lists both; a test keeps it, and every code
used in the source, in step with this module.
"""

from __future__ import annotations

#: Problems in a report's data.  ``rule`` problems also carry the rule id.
PROBLEMS: dict[str, str] = {
    "rule": "一条勾稽关系（校验规则）不成立",
    "schema": "不符合上报格式（JSON Schema）",
    "blank": "统计单元格为空，按 0 计",
    "blank_table": "一张统计表的统计单元格全部空白（如确无数据请填写 0）",
    "normalised": "填写的内容已按规范读取（如文字单元格中的数字、小写字母的代码、超过 15 位有效数字的数）",
    "text_number": "统计单元格中的数字是文字形式，表格的总计不计入它",
    "too_long": "文字超过一个单元格能容纳的 32767 字",
    "overwritten": "总计单元格被改写，不再是模板的公式",
    "prefilled": "汇总单位预填并锁定的内容被改动",
    "not_a_number": "统计单元格中不是数字，或数字过大",
    "negative": "数量或金额为负数",
    "fraction": "数量或年度不是整数",
    "too_many_decimals": "金额小数位数超过 6 位",
    "formula": "输入单元格中填写了公式",
    "year_range": "报告年度超出范围",
    "required": "必填项为空",
    "credit_code": "统一社会信用代码不正确",
    "edition": "格式版本不符",
    "duplicate": "同一单位同一年度有多份报表",
    # collecting a season's returns (collect --year, --units)
    "wrong_year": "报表的年度不是本次收集的年度",
    "unlisted": "交回报表的单位不在单位名单中",
    "not_returned": "单位名单中的单位没有交回报表",
    "unreadable": (
        "文件无法读取（collect 的 problems.jsonl，以及 read、validate 等命令无法读取输入时的 "
        "`--report`；reason 为下表中的拒绝原因）"
    ),
    # published reports (import)
    "count": "已公开的报告中，一行印出的数的个数与表格的列数不符",
    "unmatched": "已公开的报告中，表格的行名对应不上报表格式中的任何一行",
    "twice": "已公开的报告中，同一行出现在两处",
    "header": "已公开的报告中，表头与报表格式不符",
    "table_missing": "已公开的报告中找不到某张统计表",
    "narrative": "已公开的报告中，正文所述的数与统计表不符",
}

#: Why an input or a request is refused (exit code 2).
REFUSALS: dict[str, str] = {
    # reading files
    "not_found": "找不到文件，或不是文件",
    "empty": "文件为空（0 字节）",
    "too_large": "文件过大，或解压后过大",
    "xls": "旧版 .xls 或 .et 等非 .xlsx 格式",
    "encrypted": "文件设有打开密码",
    "not_excel": "不是 Excel 工作簿",
    "damaged": "文件损坏或不完整（工作簿、Word 文档、PDF）",
    "zip_bomb": "压缩比异常（疑似压缩炸弹）",
    "hostile": "含有 Excel 不会写出的危险结构（如 XML 实体声明）",
    "foreign": "不是 xlreport 生成的填报模板",
    "unknown_template": "模板的版本或布局无法确认",
    "tampered": "模板结构被改动过（工作表、名称或标签）",
    "json": "不是有效的 JSON",
    "not_object": "JSON 最外层不是对象",
    "duplicate_key": "JSON 的同一个对象中同一个键写了不止一次",
    "text_too_long": "文字超过一个单元格最多能容纳的 32767 个字符",
    "bad_character": "文字中有空字符或不完整的 Unicode 字符",
    "no_files": "没有找到要读取的文件",
    "not_xlsx": "collect 读取的不是 .xlsx 文件",
    # reading published reports (import)
    "not_html": "不是网页，或网页的标签无法解析",
    "too_deep": "网页的标签嵌套过深",
    "not_text": "不是文本文件，或不是 UTF-8、GBK 编码",
    "not_docx": "不是 Word 文档（.docx）",
    "legacy": "旧版 Word 文档（.doc）等 Office 旧格式",
    "no_text": "PDF 中没有文字层（扫描件或图片）",
    "not_report": "文件内容与扩展名不符",
    "timeout": "读取超时",
    "crash": "读取进程异常退出",
    "internal": "程序内部错误（请向维护者报告）",
    # editions and specs
    "edition": "格式版本不符，或不是内置版本",
    "spec": "规格文件内容有误",
    "spec_yaml": "规格文件不是有效的 YAML",
    "spec_missing": "找不到规格文件",
    "spec_too_large": "规格文件过大、嵌套过深或别名过多",
    "registry": "模板版本登记冲突",
    "spec_publication": "规格文件中发布的报告结构（publication）有误",
    # publishing
    "no_soffice": "生成 PDF 需要 LibreOffice，但没有找到 soffice",
    "pdf_failed": "LibreOffice 没能把报告转换成 PDF",
    "pdf_timeout": "LibreOffice 转换 PDF 超时",
    "text_encoding": "正文文件不是 UTF-8 或 GBK 编码的文本",
    # writing files
    "unwritable": "输出文件无法写入（没有权限、只读、磁盘已满、正被其他程序打开、是文件夹）",
    "busy": "结果文件夹正在被另一个 collect 使用",
    "output_is_input": "输出文件或结果文件夹就是输入",
    "output_twice": "同一个文件被指定为两个输出",
    "output_suffix": "输出文件的扩展名与内容不符（JSON 写到 .xlsx，工作簿不写到 .xlsx，报告不写到 .docx、.html、.pdf）",
    # requests
    "usage": "命令用法不对",
    "previous_year": "上年报告的年度不对",
    "migrate_year": "迁移的报告年度不在新版本适用的年度内（用 --year 写明新报表的年度）",
    "previous_unit": "上年报告是另一个单位的（单位名称或统一社会信用代码不同）",
    "merge_empty": "汇总时没有可用的报告",
    "merge_invalid": "汇总的报告中有未通过校验的",
    "merge_mixed": "汇总的报告格式版本不一致",
    "merge_year": "汇总的报告年度不一致",
    "merge_unit": "汇总单位的名称或年度缺失",
    "merge_duplicate": "同一单位的报告重复",
}
