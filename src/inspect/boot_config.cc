#include "inspect/boot_config.h"

#include <algorithm>

#include "base/text.h"

namespace ig {
namespace {

// What a menu keeps of a title or id, and of a kernel or initrd path (boot_config.h).
std::string text_kept(std::string_view s) {
  return std::string(s.substr(0, kMaxMenuTextBytes));
}
std::string path_kept(std::string_view s) {
  return std::string(s.substr(0, kMaxMenuPathBytes));
}

// Splits a line into words the way GRUB's and fstab's lexers do for the constructs read here:
// whitespace-separated, with '…' and "…" quoting and backslash escapes.
std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        cur += line[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// fstab escapes spaces and other characters as \ooo (octal).
std::string fstab_unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && s.size() - i >= 4 &&
        std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i) + 1, s.begin() + static_cast<std::ptrdiff_t>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>(((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')) & 0xff);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> bounded_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for_each_line(text, [&](std::string_view line) {
    if (lines.size() < kMaxBootConfigLines) lines.push_back(line);
  });
  return lines;
}

// The value of `set default=…` (or `default=…`) on a GRUB line, if it is one.
std::optional<std::string> default_assignment(const std::vector<std::string>& w) {
  std::string_view a;
  if (w.size() >= 2 && w[0] == "set") {
    a = w[1];
  } else if (w.size() == 1) {
    a = w[0];
  }
  if (a.rfind("default=", 0) != 0) return std::nullopt;
  return std::string(a.substr(8));
}

bool matches(const MenuLevel& level, std::string_view part) {
  if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return part.size() < 6 && std::stoul(std::string(part)) == level.index;
  }
  return part == level.id || part == level.title;
}

}  // namespace

std::vector<FstabEntry> parse_fstab(std::string_view text) {
  std::vector<FstabEntry> out;
  for (std::string_view line : bounded_lines(text)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> f;
    std::size_t pos = 0;
    while (pos < t.size() && f.size() < 4) {
      const std::size_t start = t.find_first_not_of(" \t", pos);
      if (start == std::string::npos) break;
      std::size_t end = t.find_first_of(" \t", start);
      if (end == std::string::npos) end = t.size();
      f.push_back(fstab_unescape(std::string_view(t).substr(start, end - start)));
      pos = end;
    }
    if (f.size() < 2) continue;
    out.push_back(FstabEntry{f[0], f[1], f.size() > 2 ? f[2] : "", f.size() > 3 ? f[3] : ""});
  }
  return out;
}

std::map<std::string, std::string> parse_grubenv(std::string_view text) {
  std::map<std::string, std::string> env;
  for (std::string_view line : bounded_lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return env;
}

BootMenu parse_grub_cfg(std::string_view text, const std::map<std::string, std::string>& env) {
  BootMenu menu;
  menu.loader = "grub2";
  struct Open {
    MenuLevel level;
    bool is_submenu;
    std::size_t children = 0;
  };
  std::vector<Open> stack;       // the submenus and the entry being read
  std::size_t top_children = 0;  // items at the top level
  std::size_t other_braces = 0;  // `if … {`-style blocks are not GRUB syntax, but count any "{"
  BootEntry current;
  std::vector<std::string> defaults;
  for (std::string_view line : bounded_lines(text)) {
    const std::vector<std::string> w = words(line);
    if (w.empty()) continue;
    if ((w[0] == "menuentry" || w[0] == "submenu") && w.size() >= 2 && w.back() == "{") {
      if (stack.size() >= kMaxMenuDepth) {
        ++other_braces;
        continue;
      }
      std::size_t& siblings = stack.empty() ? top_children : stack.back().children;
      MenuLevel level{siblings++, "", text_kept(w[1])};
      for (std::size_t i = 2; i + 1 < w.size(); ++i) {
        if (w[i] == "--id" || w[i] == "$menuentry_id_option") level.id = text_kept(w[i + 1]);
      }
      stack.push_back(Open{level, w[0] == "submenu"});
      if (w[0] == "menuentry") {
        current = BootEntry{};
        for (const Open& o : stack) current.levels.push_back(o.level);
      }
      continue;
    }
    if (w[0] == "}" && w.size() == 1) {
      if (other_braces > 0) {
        --other_braces;
      } else if (!stack.empty()) {
        if (!stack.back().is_submenu && menu.entries.size() < kMaxMenuEntries) menu.entries.push_back(current);
        stack.pop_back();
      }
      continue;
    }
    if (w.back() == "{") ++other_braces;
    if (!stack.empty() && !stack.back().is_submenu) {
      if ((w[0] == "linux" || w[0] == "linux16" || w[0] == "linuxefi") && w.size() >= 2)
        current.kernel = path_kept(w[1]);
      if ((w[0] == "initrd" || w[0] == "initrd16" || w[0] == "initrdefi") && w.size() >= 2) {
        current.initrd = path_kept(w.back());
      }
      continue;
    }
    if (w[0] == "blscfg") menu.uses_bls = true;
    if (auto d = default_assignment(w)) defaults.push_back(*d);
  }
  // GRUB's generated script sets default="${next_entry}" for a one-time boot and the real
  // default in the other branch; the persistent choice is the last one that is not next_entry.
  for (auto it = defaults.rbegin(); it != defaults.rend(); ++it) {
    if (it->find("next_entry") == std::string::npos) {
      menu.default_spec = *it;
      break;
    }
  }
  std::string spec = menu.default_spec;
  if (spec.find("saved_entry") != std::string::npos) {
    const auto s = env.find("saved_entry");
    spec = s != env.end() ? s->second : std::string(1, '0');
  }
  if (spec.empty()) spec = "0";
  menu.chosen = select_entry(menu.entries, spec);
  return menu;
}

BootEntry parse_bls_entry(std::string_view text, std::string_view id) {
  BootEntry e;
  MenuLevel level{0, text_kept(id), text_kept(id)};
  for (std::string_view line : bounded_lines(text)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto space = t.find_first_of(" \t");
    const std::string key = t.substr(0, space);
    const std::string value = space == std::string::npos ? "" : trim(std::string_view(t).substr(space));
    if (key == "title") level.title = text_kept(value);
    if (key == "linux") e.kernel = path_kept(value);
    if (key == "initrd") {
      const auto w = words(value);
      if (!w.empty()) e.initrd = path_kept(w.back());
    }
  }
  e.levels.push_back(level);
  return e;
}

BootMenu parse_menu_lst(std::string_view text, std::string_view saved) {
  BootMenu menu;
  menu.loader = "grub-legacy";
  bool in_entry = false;
  for (std::string_view line : bounded_lines(text)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto sep = t.find_first_of(" \t=");
    const std::string key = t.substr(0, sep);
    const std::string value = sep == std::string::npos ? "" : trim(std::string_view(t).substr(sep + 1));
    if (key == "title") {
      in_entry = menu.entries.size() < kMaxMenuEntries;
      if (!in_entry) continue;
      BootEntry e;
      e.levels.push_back(MenuLevel{menu.entries.size(), "", text_kept(value)});
      menu.entries.push_back(e);
    } else if (key == "default" && !in_entry) {
      menu.default_spec = value;
    } else if (in_entry && key == "kernel") {
      const auto w = words(value);
      if (!w.empty()) menu.entries.back().kernel = path_kept(w[0]);
    } else if (in_entry && key == "initrd") {
      const auto w = words(value);
      if (!w.empty()) menu.entries.back().initrd = path_kept(w.back());
    }
  }
  std::string spec = menu.default_spec;
  if (spec == "saved") spec = trim(saved.substr(0, saved.find('\n')));
  if (spec.empty()) spec = "0";
  menu.chosen = select_entry(menu.entries, spec);
  return menu;
}

std::optional<std::size_t> select_entry(const std::vector<BootEntry>& entries, std::string_view spec) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= spec.size() && parts.size() <= kMaxMenuDepth) {
    auto gt = spec.find('>', pos);
    if (gt == std::string_view::npos) gt = spec.size();
    parts.push_back(spec.substr(pos, gt - pos));
    pos = gt + 1;
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& levels = entries[i].levels;
    if (levels.size() < parts.size()) continue;
    bool ok = true;
    for (std::size_t p = 0; p < parts.size() && ok; ++p) ok = matches(levels[p], parts[p]);
    // A default naming a submenu boots its first entry.
    if (ok &&
        (levels.size() == parts.size() || std::all_of(levels.begin() + static_cast<std::ptrdiff_t>(parts.size()),
                                                      levels.end(), [](const MenuLevel& l) { return l.index == 0; }))) {
      return i;
    }
  }
  return std::nullopt;
}

std::string kernel_version_of(std::string_view kernel_path) {
  const auto slash = kernel_path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? kernel_path : kernel_path.substr(slash + 1);
  for (std::string_view prefix : {"vmlinuz-", "vmlinux-", "kernel-", "bzImage-", "Image-"}) {
    if (base.rfind(prefix, 0) == 0 && base.size() > prefix.size()) return std::string(base.substr(prefix.size()));
  }
  return "";
}

}  // namespace ig
