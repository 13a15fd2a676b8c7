// Free-text answers a dialog state captures into a slot (flow.json "capture"): a first name,
// a phone number, a short text such as the best time to call.
//
// Each function reads what the person typed and returns the value to keep, or nullopt when
// the text is not such an answer (then the turn goes on as any other message would, and the
// state asks again if nothing else fits). They are pure functions of their arguments: no
// I/O, no shared state, safe from any thread.
//
// Phone numbers are checked by hand for the countries the shipped clinics are in (the
// North American Numbering Plan for "US" and "CA"; the UK for "GB"). For any other country a
// number is taken only in international form (+ and 8 to 15 digits, ITU-T E.164), because a
// national number cannot be turned into one without that country's numbering rules.
#ifndef BACKLINE_ENGINE_CAPTURE_H_
#define BACKLINE_ENGINE_CAPTURE_H_

#include <optional>
#include <string>
#include <string_view>

namespace backline::engine {

// A first name as the person typed it, trimmed, without a lead-in ("my name is", "it's",
// "I'm", "call me") or closing punctuation: one to three words of letters (any script), with
// ' - or . inside a word ("Mary-Jane", "O'Neil", "Jo Ann"), at most 40 characters. A question,
// a sentence, digits, or a word that is plainly not a name ("yes", "what", "pain") is not a
// name.
std::optional<std::string> CaptureName(std::string_view text);

struct PhoneNumber {
  std::string e164;      // "+447700900123"
  std::string national;  // as people there write it: "07700 900123", "(201) 555-0123"
};

// A phone number that can be called in `country` (ISO 3166, "GB", "US"), written nationally
// ("07700 900123", "201-555-0123") or internationally ("+44 7700 900123", "0044 ...",
// "+1 201 555 0123"), with spaces, dots, dashes and brackets as people write them
// ("+44 (0)7700 900123"). GB takes geographic (01, 02), non-geographic (03) and mobile (07,
// but not 070 personal or 076 pager numbers) numbers of the right length; the US and Canada
// take ten-digit numbers whose area code and exchange are in service (not N11, not starting
// with 0 or 1, no area code with 9 in the middle). Premium, short and emergency numbers are
// refused. A number of another country than the clinic's is refused.
std::optional<PhoneNumber> CapturePhone(std::string_view text, std::string_view country);

// The text is written as a phone number (digits, at least three, and only the characters
// numbers are written with), whether or not it is a valid one: "911", "555-0123".
bool LooksLikePhone(std::string_view text);

// A short free text (the best time to call): trimmed, 1 to `max_length` bytes, not a
// question (no "?", and not starting "what", "how", "can I", ...).
std::optional<std::string> CaptureText(std::string_view text, size_t max_length);

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_CAPTURE_H_
