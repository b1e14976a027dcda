namespace NewLlm;

/// <summary>
/// Scalars for libtorch calls made on the training loops' row threads, held by the caller (<c>using</c>) for as long
/// as it calls with them.
/// </summary>
/// <remarks>
/// TorchSharp turns a .NET number passed as a <see cref="Scalar"/> (an <c>add_</c>'s alpha, for example) into a native
/// scalar whose only owner is a temporary wrapper with a finalizer. Once the wrapper's handle has been read the wrapper
/// is garbage, and a collection started by another thread meanwhile can free the native scalar while libtorch still
/// reads it: seen here as "Expected false to be true ... toFloat" from an <c>add_</c> in the bf16 backward, in one of
/// two runs of the same command. A scalar the caller holds is freed only when the caller is done.
/// </remarks>
internal static class KeptScalar
{
    /// <summary>A new native scalar 1, for the caller to hold and dispose.</summary>
    public static Scalar One() => 1.ToScalar();
}
