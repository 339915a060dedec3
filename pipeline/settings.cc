#include "pipeline/settings.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pipeline/absl_compat.h"

namespace nf2 {
namespace {

constexpr double kYearSeconds = 365.0 * 24 * 3600;
constexpr size_t kHelpWidth = 100;

// A number in a message: integers without ".0", others in shortest form.
std::string Num(double d) { return absl::StrCat(d); }

bool IsDecimalNumber(std::string_view text) {
  // from_chars reads no hex without being asked; "inf" and "nan" are
  // refused by the caller's finiteness check.
  return !text.empty() && (absl::ascii_isdigit(static_cast<unsigned char>(text.front())) ||
                           text.front() == '-' || text.front() == '.');
}

std::optional<double> ParseDecimal(std::string_view text) {
  text = Sv(absl::StripAsciiWhitespace(Av(text)));
  if (!IsDecimalNumber(text)) return std::nullopt;
  double d = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

const Setting* FindRow(const SettingsTable& table, std::string_view flag) {
  for (const Setting& s : table) {
    if (s.flag == flag) return &s;
  }
  return nullptr;
}

struct FlagArg {
  std::string name;
  std::optional<std::string> value;  // from --name=value
};

FlagArg SplitFlag(std::string_view arg) {
  arg.remove_prefix(arg.substr(0, 2) == "--" ? 2 : 1);
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return {std::string(arg), std::nullopt};
  return {std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

// The value of one flag argument at args[*i], consuming the next argument
// when the flag takes one.
absl::StatusOr<std::string> FlagText(const Setting& row, const FlagArg& flag,
                                     const std::vector<std::string>& args, size_t* i) {
  if (row.flag_value == FlagValue::kNone) {
    if (flag.value)
      return absl::InvalidArgumentError(absl::StrCat("--", flag.name, " takes no value"));
    return std::string("true");
  }
  if (flag.value) return *flag.value;
  if (row.flag_value == FlagValue::kOptional) return std::string("true");
  if (*i + 1 >= args.size()) {
    return absl::InvalidArgumentError(absl::StrCat("flag --", flag.name, " needs a value"));
  }
  return args[++*i];
}

// Words of `text` wrapped to the help width, continuation lines indented.
std::string Wrap(std::string_view text, size_t first_column, size_t indent) {
  std::string out;
  size_t column = first_column;
  bool first = true;
  for (absl::string_view word : absl::StrSplit(Av(text), ' ')) {
    if (!first && column + 1 + word.size() > kHelpWidth) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
    } else if (!first) {
      out += ' ';
      ++column;
    }
    absl::StrAppend(&out, word);
    column += word.size();
    first = false;
  }
  return out;
}

std::string HelpEntry(const std::string& left, const std::string& env, size_t left_width,
                      size_t env_width, const std::string& help) {
  std::string line = "  " + left;
  line.resize(std::max(line.size() + 1, 2 + left_width + 1), ' ');
  if (env_width > 0) {
    line += env;
    line.resize(std::max(line.size() + 1, 2 + left_width + 1 + env_width + 1), ' ');
  }
  return line + Wrap(help, line.size(), line.size()) + "\n";
}

using TextMap = std::map<std::string, std::string, std::less<>>;
using GivenMap = std::map<std::string, bool, std::less<>>;

// An argument that is not a flag: "-" (stdin), anything not starting with
// '-', and everything after "--".
bool IsPositional(const std::string& arg, bool only_positional) {
  return only_positional || arg == "-" || arg.empty() || arg.front() != '-';
}

// The error for a flag the table does not have: the program's own, when it
// has a better message for that name, else the generic one.
absl::Status UnknownFlagError(const FlagArg& flag, const SettingsLoadOptions& options) {
  if (options.check_unknown) {
    if (absl::Status st = options.check_unknown(flag.name); !st.ok()) return st;
  }
  // Name the flag without its value: a mistyped --token=... must not
  // print the secret it carries.
  return absl::InvalidArgumentError(absl::StrCat("unknown flag --", flag.name, " (see --help)"));
}

// Parses every setting that has a text (a default, a variable or a flag)
// into its field, in table order; the first error wins.
absl::Status ParseEveryRow(const SettingsTable& table, TextMap& text, GivenMap& given) {
  for (const Setting& s : table) {
    const std::string& row_text = text[s.flag];
    if (row_text.empty() && !given[s.flag]) continue;
    if (absl::Status st = s.parse(s, row_text); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

std::string SettingName(const Setting& s) {
  return s.env.empty() ? absl::StrCat("--", s.flag) : absl::StrCat("--", s.flag, " / ", s.env);
}

absl::Status BadSetting(const Setting& s, std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid setting ", SettingName(s), "='", Av(text), "': ", Av(why)));
}

absl::StatusOr<int64_t> ParseSettingInt(const Setting& s, std::string_view text, int64_t min,
                                        int64_t max) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(Av(text), &n)) return BadSetting(s, text, "not a whole number");
  if (n < min) {
    if (min == 1) return BadSetting(s, text, "must be greater than 0");
    if (min == 0) return BadSetting(s, text, "must not be negative");
    return BadSetting(s, text, absl::StrCat("must be at least ", min));
  }
  if (n > max) return BadSetting(s, text, absl::StrCat("must be at most ", max));
  return n;
}

absl::StatusOr<uint64_t> ParseSettingUint64(const Setting& s, std::string_view text, uint64_t min,
                                            uint64_t max) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(Av(text), &n)) return BadSetting(s, text, "not a whole number >= 0");
  if (n < min) return BadSetting(s, text, absl::StrCat("must be at least ", min));
  if (n > max) return BadSetting(s, text, absl::StrCat("must be at most ", max));
  return n;
}

absl::StatusOr<double> ParseSettingDouble(const Setting& s, std::string_view text, double min,
                                          double max, bool min_exclusive) {
  const std::optional<double> d = ParseDecimal(text);
  if (!d) return BadSetting(s, text, "not a decimal number");
  if (min_exclusive ? *d <= min : *d < min) {
    return BadSetting(
        s, text,
        absl::StrCat(min_exclusive ? "must be greater than " : "must be at least ", Num(min)));
  }
  if (*d > max) {
    if (!min_exclusive && std::isfinite(min)) {
      return BadSetting(s, text, absl::StrCat("must be between ", Num(min), " and ", Num(max)));
    }
    return BadSetting(s, text, absl::StrCat("must be at most ", Num(max)));
  }
  return *d;
}

absl::StatusOr<absl::Duration> ParseSettingSeconds(const Setting& s, std::string_view text,
                                                   SecondsRange range) {
  const std::optional<double> d = ParseDecimal(text);
  if (!d) return BadSetting(s, text, "not a decimal number of seconds");
  if (*d < 0) return BadSetting(s, text, "must not be negative");
  if (*d == 0) {
    if (range.zero_is_off) return absl::ZeroDuration();
    return BadSetting(s, text, "must be greater than 0");
  }
  if (*d < absl::ToDoubleSeconds(range.min)) {
    return BadSetting(s, text,
                      absl::StrCat("must be at least ", Num(absl::ToDoubleSeconds(range.min)),
                                   " seconds", range.zero_is_off ? " (or 0 = off)" : ""));
  }
  if (*d > kYearSeconds) return BadSetting(s, text, "more than a year");
  return absl::Seconds(*d);
}

absl::StatusOr<bool> ParseSettingBool(const Setting& s, std::string_view text) {
  const std::string v = absl::AsciiStrToLower(Av(text));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) return false;
  return BadSetting(s, text, "not true or false");
}

SettingParseFn BoolInto(bool* out) {
  return [out](const Setting& s, std::string_view text) -> absl::Status {
    absl::StatusOr<bool> b = ParseSettingBool(s, text);
    if (!b.ok()) return b.status();
    *out = *b;
    return absl::OkStatus();
  };
}

SettingParseFn Uint64Into(uint64_t* out, uint64_t min, uint64_t max) {
  return [out, min, max](const Setting& s, std::string_view text) -> absl::Status {
    absl::StatusOr<uint64_t> n = ParseSettingUint64(s, text, min, max);
    if (!n.ok()) return n.status();
    *out = *n;
    return absl::OkStatus();
  };
}

SettingParseFn DoubleInto(double* out, double min, double max, bool min_exclusive) {
  return [=](const Setting& s, std::string_view text) -> absl::Status {
    absl::StatusOr<double> d = ParseSettingDouble(s, text, min, max, min_exclusive);
    if (!d.ok()) return d.status();
    *out = *d;
    return absl::OkStatus();
  };
}

SettingParseFn SecondsInto(absl::Duration* out, SecondsRange range) {
  return [out, range](const Setting& s, std::string_view text) -> absl::Status {
    absl::StatusOr<absl::Duration> d = ParseSettingSeconds(s, text, range);
    if (!d.ok()) return d.status();
    *out = *d;
    return absl::OkStatus();
  };
}

SettingParseFn StringInto(std::string* out, bool allow_empty) {
  return [out, allow_empty](const Setting& s, std::string_view text) -> absl::Status {
    if (text.empty() && !allow_empty) return BadSetting(s, text, "must not be empty");
    *out = std::string(text);
    return absl::OkStatus();
  };
}

bool LoadedSettings::Given(std::string_view flag) const {
  auto it = given_.find(flag);
  return it != given_.end() && it->second;
}

std::string LoadedSettings::Text(std::string_view flag) const {
  auto it = text_.find(flag);
  return it == text_.end() ? std::string() : it->second;
}

absl::Status LoadedSettings::Invalid(std::string_view flag, std::string_view why) const {
  auto it = name_.find(flag);
  const std::string name = it == name_.end() ? absl::StrCat("--", Av(flag)) : it->second;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid setting ", name, "='", Text(flag), "': ", Av(why)));
}

absl::StatusOr<LoadedSettings> LoadSettings(const SettingsTable& table,
                                            const std::vector<std::string>& args,
                                            const GetEnvFn& getenv,
                                            const SettingsLoadOptions& options) {
  LoadedSettings loaded;
  for (const Setting& s : table) {
    const char* env = s.env.empty() || !getenv ? nullptr : getenv(s.env.c_str());
    loaded.text_[s.flag] = env ? std::string(env) : s.default_value;
    loaded.given_[s.flag] = env != nullptr;
    loaded.name_[s.flag] = SettingName(s);
  }
  bool only_positional = false;
  std::set<std::string, std::less<>> set_by_flag;  // repeatable rows seen on the command line
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (IsPositional(arg, only_positional)) {
      if (!options.allow_positional) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", arg, "' (see --help)"));
      }
      loaded.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    const FlagArg flag = SplitFlag(arg);
    if (flag.name == "help" || arg == "-h") {
      loaded.help = true;
      return loaded;
    }
    const Setting* row = FindRow(table, flag.name);
    if (row == nullptr) return UnknownFlagError(flag, options);
    absl::StatusOr<std::string> text = FlagText(*row, flag, args, &i);
    if (!text.ok()) return text.status();
    std::string& stored = loaded.text_[row->flag];
    const bool append = row->repeatable && !set_by_flag.insert(row->flag).second;
    stored = append ? absl::StrCat(stored, ",", *text) : *std::move(text);
    loaded.given_[row->flag] = true;
  }
  if (absl::Status st = ParseEveryRow(table, loaded.text_, loaded.given_); !st.ok()) return st;
  return loaded;
}

std::string SettingsHelp(const SettingsTable& table, std::string_view header,
                         std::string_view footer) {
  size_t left_width = 6;  // "--help"
  size_t env_width = 0;
  for (const Setting& s : table) {
    const size_t left = 2 + s.flag.size() + (s.value_name.empty() ? 0 : 1 + s.value_name.size());
    left_width = std::max(left_width, std::min<size_t>(left, 26));
    env_width = std::max(env_width, std::min<size_t>(s.env.size(), 22));
  }
  std::string out(header);
  for (const Setting& s : table) {
    std::string left = "--" + s.flag;
    if (!s.value_name.empty()) absl::StrAppend(&left, " ", s.value_name);
    std::string help = s.help;
    if (!s.default_value.empty() && s.flag_value != FlagValue::kNone) {
      absl::StrAppend(&help, " (default: ", s.default_value, ")");
    }
    out += HelpEntry(left, s.env, left_width, env_width, help);
  }
  out += HelpEntry("--help", "", left_width, env_width, "show this text");
  absl::StrAppend(&out, Av(footer));
  return out;
}

}  // namespace nf2
