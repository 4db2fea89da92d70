#include "rules/messages.h"

namespace ig {

std::string check_title(std::string_view check, Lang lang) {
  return render({"title." + std::string(check), {}}, lang);
}

std::string status_label(CheckStatus s, Lang lang) {
  return render({"status." + std::string(check_status_name(s)), {}}, lang);
}

}  // namespace ig
