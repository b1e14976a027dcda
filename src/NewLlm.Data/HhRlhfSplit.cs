namespace NewLlm.Data;

/// <summary>A split of an HH-RLHF subset: the file <c>train.jsonl.gz</c> or <c>test.jsonl.gz</c>.</summary>
public enum HhRlhfSplit
{
    /// <summary>The training split (<c>train.jsonl.gz</c>).</summary>
    Train,

    /// <summary>The test split (<c>test.jsonl.gz</c>).</summary>
    Test,
}
