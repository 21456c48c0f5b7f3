"""Synthetic workplace text for the search benchmark.

Words follow a Zipf distribution over a vocabulary of about 5,000 words: a
few English function words and workplace terms at the top, some accented
words, and made-up words in the long tail. Some posts also carry a fixed
phrase, a Japanese or Chinese sentence or an emoji, so the benchmark's
queries for those match a known, modest share of the documents.
"""

import itertools
import random

from app.records import Profile

VOCABULARY_SIZE = 5000
ZIPF_EXPONENT = 1.05

FUNCTION_WORDS = [
    "the",
    "to",
    "and",
    "a",
    "of",
    "we",
    "is",
    "for",
    "it",
    "in",
    "that",
    "this",
    "on",
    "with",
    "be",
    "can",
    "you",
    "i",
    "not",
    "our",
    "are",
    "as",
    "have",
    "if",
    "at",
    "or",
    "but",
    "so",
    "do",
    "from",
    "will",
    "an",
    "what",
    "there",
    "should",
    "by",
    "all",
    "just",
    "about",
    "when",
    "how",
    "they",
    "more",
    "up",
    "one",
    "also",
]

# Ranked after the function words. "cache" is at rank 53, so it is a common
# word, in about 8% of the benchmark cache's documents.
TERMS = [
    "team",
    "deploy",
    "review",
    "release",
    "build",
    "service",
    "cache",
    "test",
    "data",
    "meeting",
    "customer",
    "report",
    "design",
    "issue",
    "change",
    "process",
    "question",
    "project",
    "update",
    "server",
    "database",
    "query",
    "index",
    "latency",
    "onboarding",
    "pattern",
    "migration",
    "pipeline",
    "accessibility",
    "contrast",
    "mentoring",
    "sprint",
    "retrospective",
    "incident",
    "postmortem",
    "runbook",
    "dashboard",
    "metric",
    "alert",
    "schema",
    "kubernetes",
    "cluster",
    "python",
    "rust",
    "typescript",
    "frontend",
    "backend",
    "api",
    "endpoint",
    "token",
    "session",
    "login",
    "password",
    "security",
    "audit",
    "compliance",
    "budget",
    "roadmap",
    "quarter",
    "goal",
    "okr",
    "hiring",
    "interview",
    "feedback",
    "training",
    "workshop",
    "course",
    "lesson",
    "module",
    "certificate",
    "exam",
    "deadline",
    "schedule",
    "calendar",
    "holiday",
    "office",
    "remote",
    "laptop",
    "monitor",
    "network",
    "vpn",
    "proxy",
    "firewall",
    "backup",
    "restore",
    "storage",
    "disk",
    "memory",
    "cpu",
    "queue",
    "worker",
    "scheduler",
    "cron",
    "job",
    "batch",
    "stream",
    "event",
    "message",
    "notification",
    "email",
    "slack",
    "chat",
    "thread",
    "reply",
    "answer",
    "solution",
    "workaround",
    "bug",
    "fix",
    "patch",
    "version",
    "branch",
    "merge",
    "commit",
    "rebase",
    "conflict",
    "invalidation",
    "eviction",
    "replica",
    "shard",
    "partition",
    "transaction",
    "rollback",
    "résumé",
    "café",
    "naïve",
    "façade",
    "zürich",
    "münchen",
    "señor",
    "crème",
    "déjà",
    "garçon",
    "kubectl",
    "kustomize",
    "kafka",
    "kibana",
    "keycloak",
]

# Inserted deep in the tail: the search benchmark's cache has it in 144 posts.
RARE_WORD = "kerberos"

# Phrases inserted whole into a small share of posts; words drawn one by one
# would almost never stand next to each other.
PHRASES = (
    "cache invalidation",
    "code review checklist",
    "on call rotation",
    "blue green deploy",
    "single sign on",
)
CJK_SENTENCES = (
    "機械学習の基礎を学ぶ。",
    "新しいデプロイ手順について質問があります。",
    "キャッシュの設定を確認してください。",
    "本周的代码评审会议改到周四。",
    "我们需要更新学习计划。",
    "이번 주 회의는 목요일입니다.",
)
EMOJI = ("🚀", "🎉", "👍", "🔥", "✅", "🙏", "👩🏽‍💻", "☕")

FIRST_NAMES = [
    "Maya",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Lucas",
    "Ava",
    "Mateo",
    "Sofia",
    "Ethan",
    "Chloé",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Renée",
    "Björn",
    "François",
    "Ana",
    "İlkay",
    "Ngozi",
    "Priya",
    "Arjun",
    "Mei",
    "Wei",
    "Fatima",
    "Omar",
    "Aoife",
    "Siobhán",
    "Jürgen",
    "Małgorzata",
    "Dmitri",
    "Olga",
    "Kwame",
    "Amara",
]
LAST_NAMES = [
    "Patel",
    "Smith",
    "García",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Johansson",
    "O'Brien",
    "Rossi",
    "Dubois",
    "Novák",
    "Fernández",
    "Okafor",
    "Haddad",
    "Kim",
    "Chen",
    "Andersson",
    "Łukasiewicz",
    "Çelik",
    "Brontë",
    "Núñez",
    "Papadopoulos",
    "Schröder",
    "Yılmaz",
    "Singh",
]
JAPANESE_NAMES = (
    "佐藤 花子",
    "鈴木 一郎",
    "高橋 美咲",
    "田中 健太",
    "渡辺 さくら",
    "伊藤 翔",
    "山本 結衣",
    "中村 大輔",
)
JOB_TITLES = (
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "Product Designer",
    "Data Scientist",
    "Site Reliability Engineer",
    "Learning Designer",
    "Technical Writer",
    "Product Manager",
    "Security Engineer",
    "QA Engineer",
    "Développeuse logicielle",
    "ソフトウェアエンジニア",
)
DEPARTMENTS = (
    "Platform",
    "Payments",
    "Mobile",
    "Data",
    "Learning & Development",
    "People",
    "Security",
    "Customer Success",
    "Recherche et développement",
    "開発部",
)
SKILLS = (
    "Python",
    "Rust",
    "TypeScript",
    "Kubernetes",
    "SQL",
    "Kafka",
    "Accessibility",
    "Mentoring",
    "Public speaking",
    "Incident response",
    "UX research",
    "Machine learning",
    "日本語",
    "Français",
    "Terraform",
    "GraphQL",
)
FILE_STEMS = (
    "Quarterly report",
    "Onboarding checklist",
    "Architecture overview",
    "Incident report",
    "Résumé template",
    "Team offsite agenda",
    "Budget forecast",
    "Security audit",
    "設計書",
    "会议纪要",
    "Training plan",
    "Deploy runbook",
)
FILE_TYPES = (
    (".pdf", "application/pdf"),
    (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml"),
    (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml"),
    (".png", "image/png"),
    (".md", "text/markdown"),
)


def _made_up_words(rng: random.Random, count: int, used: set[str]) -> list[str]:
    syllables = [
        consonant + vowel
        for consonant in "bcdfghjklmnprstvwz"
        for vowel in ("a", "e", "i", "o", "u", "ai", "ou")
    ]
    words = []
    while len(words) < count:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in used:
            used.add(word)
            words.append(word)
    return words


class Corpus:
    """Random titles, bodies, names, profiles and file names, by seed."""

    def __init__(self, seed: int = 1):
        rng = random.Random(seed)
        head = FUNCTION_WORDS + TERMS
        tail = _made_up_words(rng, VOCABULARY_SIZE - len(head) - 1, set(head))
        tail.insert(len(tail) - 200, RARE_WORD)
        self.words = head + tail
        weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(self.words) + 1)]
        self.cumulative_weights = list(itertools.accumulate(weights))

    def text(self, rng: random.Random, words: int) -> str:
        """Return a sentence of about the given number of words."""
        chosen = rng.choices(self.words, cum_weights=self.cumulative_weights, k=words)
        roll = rng.random()
        if roll < 0.02:
            chosen.insert(rng.randrange(len(chosen) + 1), rng.choice(PHRASES))
        elif roll < 0.035:
            chosen.append(rng.choice(CJK_SENTENCES))
        elif roll < 0.05:
            chosen.append(rng.choice(EMOJI))
        return " ".join(chosen).capitalize() + "."

    def person_names(self, count: int) -> list[str]:
        """Return count display names; one in ten is Japanese."""
        rng = random.Random(count)
        names = []
        for number in range(count):
            if number % 10 == 9:
                names.append(rng.choice(JAPANESE_NAMES))
            else:
                names.append(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        return names

    def profiles(self, rng: random.Random, user_ids: list[str], names: list[str]):
        """Return a Profile with title, department and skills for each user."""
        return [
            Profile(
                user_id,
                name,
                None,
                title=rng.choice(JOB_TITLES),
                department=rng.choice(DEPARTMENTS),
                skills=tuple(rng.sample(SKILLS, rng.randint(1, 5))),
                ask_me_about=tuple(rng.sample(TERMS, 2)),
            )
            for user_id, name in zip(user_ids, names, strict=True)
        ]

    def file_name(self, rng: random.Random) -> tuple[str, str]:
        """Return a file name and its MIME type."""
        suffix, mimetype = rng.choice(FILE_TYPES)
        stem = rng.choice(FILE_STEMS)
        year = rng.choice(("2023", "2024", "2025"))
        return f"{stem} {year} v{rng.randint(1, 9)}{suffix}", mimetype
