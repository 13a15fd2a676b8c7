// Topics for specs built by hand in tests: the ones the engine files its own replies under
// (Engine::kRedFlagTopic and the others), the conversation topics intents use, and the FAQ
// topics of the test entries. The shipped list is knowledge/topics.json.
#ifndef BACKLINE_TESTS_ENGINE_TEST_TOPICS_H_
#define BACKLINE_TESTS_ENGINE_TEST_TOPICS_H_

#include <string>
#include <vector>

#include "engine/content.h"

namespace backline::testing {

inline std::vector<engine::TopicSpec> TestTopics() {
  std::vector<engine::TopicSpec> topics;
  for (const char* id :
       {"causes", "sleep", "opioids", "massage", "care-team", "cancer-vs-ordinary"})
    topics.push_back(engine::TopicSpec{id, std::string("FAQ ") + id, true, {"topics.json", 1, 1}});
  for (const char* id :
       {"greeting", "goodbye", "thanks", "capabilities", "human", "out-of-scope", "red-flag"})
    topics.push_back(engine::TopicSpec{id, id, false, {"topics.json", 1, 1}});
  return topics;
}

}  // namespace backline::testing

#endif  // BACKLINE_TESTS_ENGINE_TEST_TOPICS_H_
