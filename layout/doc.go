// Package layout is the feature layout of a team's logs: how a user's
// events (package events) become candidate generation's next-watch
// examples and the ranker's impression examples, and how a served request
// becomes the same features. Training and serving call the same code, so
// there is no train/serve skew.
//
// # The stored authority
//
// A Config holds everything that shapes a feature (history and token
// lengths, vocabulary caps, the mapped user and catalogue columns); a model
// directory stores it beside the models, and the models store the
// feature.Spec they were trained on. CandgenSpec and RankingSpec derive the
// specs from the Config, examples are filled by the specs' slots (resolved
// once by feature name, feature.Builder.Slot), and CheckCandgen/CheckRanking refuse a model whose
// stored spec differs from the layout's by a renamed, reordered or
// re-shaped feature, naming it.
//
// # Features
//
// Candidate generation: "watches" (the last MaxHistory watches), "searches"
// (the last MaxTokens search tokens, when the watches carry them), one
// "user_C" per user attribute column C; example age is added by the model.
// Ranking: "video" (the impressed video), "last_watches" (the last
// RankHistory watches), the "user_C" attributes, and per catalogue column
// "video_C" (ID or number) or "video_age_C" (a time column: the video's age
// at the impression, in days).
//
// # Serving a slate
//
// RankExamples builds the examples of a whole slate (one user, many
// candidate videos) into a reused Slate: the user's features once, shared
// by every candidate, and nothing allocated once the Slate has grown.
// ItemFeatures names the features that depend on the video alone at
// serving, which a server precomputes once per video (ranking.ItemPart).
//
// # Leakage
//
// Walk hands each callback the user as known strictly before the event:
// an example never sees its own watch or anything later.
package layout
