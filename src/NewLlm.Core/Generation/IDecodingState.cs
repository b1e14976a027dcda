namespace NewLlm;

/// <summary>
/// What an <see cref="IIncrementalDecoder"/> carries between steps for a batch of sequences: New-LLM's context vectors,
/// the Transformer baseline's key/value cache. It owns its tensors; dispose it when done.
/// </summary>
public interface IDecodingState : IDisposable
{
    /// <summary>Number of sequences decoded together.</summary>
    int BatchSize { get; }

    /// <summary>Number of tokens each sequence has read.</summary>
    long Length { get; }

    /// <summary>The most tokens a sequence can read (the model's positions), or null when there is no bound.</summary>
    long? MaxLength { get; }

    /// <summary>
    /// Bytes of the tensors the state holds now (their storage as allocated): constant for New-LLM, growing with
    /// <see cref="Length"/> for a key/value cache.
    /// </summary>
    long SizeInBytes { get; }
}
