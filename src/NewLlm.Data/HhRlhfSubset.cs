namespace NewLlm.Data;

/// <summary>A subset of Anthropic HH-RLHF, one directory of the Hub repository <c>Anthropic/hh-rlhf</c>.</summary>
public enum HhRlhfSubset
{
    /// <summary><c>helpful-base</c> (43,835 train / 2,354 test rows); the original guide's "helpful".</summary>
    Helpful,

    /// <summary><c>harmless-base</c> (42,537 train / 2,312 test rows); the original guide's "harmless".</summary>
    Harmless,

    /// <summary><c>helpful-online</c> (22,007 train / 1,137 test rows).</summary>
    HelpfulOnline,

    /// <summary><c>helpful-rejection-sampled</c> (52,421 train / 2,749 test rows).</summary>
    HelpfulRejectionSampled,

    /// <summary>The four subsets above together, in that order.</summary>
    All,
}
