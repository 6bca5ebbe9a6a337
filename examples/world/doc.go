// Package world generates a seeded, YouTube-like world with a documented
// generative process, so that recommendations can be checked against ground
// truth. It is importable by tests, benchmarks and the examples.
//
// # Generative process
//
//   - Topics: K topics. Each topic owns a block of search tokens and of
//     channels (uploaders).
//   - Videos: each has a main topic (uniform), a channel of that topic, a
//     latent vector z_v = normalize(e_topic + Noise·N(0, I)), an upload time
//     τ_v ~ U(-Horizon/2, Horizon), a power-law popularity π_v ∝ rank^-Alpha
//     (rank a random permutation), a thumbnail appeal a_v ~ U(0,1) and a
//     quality q_v ~ Beta-like U(0.2,1).
//   - Users: two favourite topics; an interest vector θ_u = normalize(e_t1 +
//     0.6·e_t2 + Noise·N(0, I)); region, device, gender, age, logged-in.
//   - Watches: Watches per user at increasing times in [0, Horizon). The next
//     watch stays on the last watch's topic with probability Stickiness,
//     otherwise picks one of the user's topics (90%) or a random topic. Within
//     the topic a video is drawn ∝ π_v and accepted with probability
//     exp(-(t-τ_v)/Freshness) if uploaded (τ_v ≤ t), else redrawn (freshness).
//   - Searches: before each watch, with probability SearchRate, a search of
//     1-3 tokens of the watched topic is recorded.
//   - Impressions: pages of PageSize candidates (half from the user's topics,
//     half popular), shown at the end of the window. The affinity is
//     aff = θ_u·z_v ∈ [-1, 1]. P(click) = σ(ClickBias + 3·aff + 2·(a_v-0.5)),
//     watch time given a click ~ Exponential(mean MaxWatch·q_v·(0.2+max(aff,0))).
//     ExpectedWatch gives the ground truth P(click)·mean.
package world
