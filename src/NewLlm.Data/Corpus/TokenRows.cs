namespace NewLlm.Data;

/// <summary>
/// Where the rows of a <see cref="TokenizedCorpus"/> live: each row's kept ids (BOS, tokens, EOS when it fits; no
/// padding) and the UTF-8 bytes they cover. In memory (<see cref="ArrayTokenRows"/>) or in memory-mapped Arrow files
/// (<see cref="MappedTokenRows"/>).
/// </summary>
internal abstract class TokenRows : IDisposable
{
    /// <summary>The number of rows.</summary>
    public abstract int Count { get; }

    /// <summary>The kept ids of a row.</summary>
    public abstract ReadOnlySpan<int> GetTokens(int index);

    /// <summary>The UTF-8 bytes of the text the row's kept tokens cover.</summary>
    public abstract long GetByteCount(int index);

    /// <summary>Releases what the rows hold (mapped files).</summary>
    public virtual void Dispose()
    {
    }
}
