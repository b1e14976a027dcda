namespace NewLlm.Data;

/// <summary>
/// NumPy's <c>numpy.random.SeedSequence</c> for an integer seed without spawn key and with the default pool of four
/// 32-bit words: the seed's 32-bit words (lowest first) are hashed into the pool, the pool words are mixed with one
/// another, words beyond the pool are mixed into every pool word, and <c>generate_state</c> hashes the pool, cycled,
/// into the requested words (two 32-bit words, low first, for each 64-bit word).
/// </summary>
internal static class NumPySeedSequence
{
    private const int PoolSize = 4;
    private const uint InitA = 0x43b0d7e5;
    private const uint MultA = 0x931e8875;
    private const uint InitB = 0x8b51f9dd;
    private const uint MultB = 0x58f38ded;
    private const uint MixMultL = 0xca01f9dd;
    private const uint MixMultR = 0x4973f715;
    private const int XShift = 16;

    /// <summary>A non-negative integer as NumPy's <c>_int_to_uint32_array</c> splits it: 32-bit words, lowest first; 0 is one word.</summary>
    public static uint[] EntropyWords(ulong seed) =>
        seed == 0 ? [0u] : seed <= uint.MaxValue ? [(uint)seed] : [(uint)seed, (uint)(seed >> 32)];

    /// <summary><c>SeedSequence(entropy).generate_state(words, np.uint64)</c>: the 32-bit words, low then high, of each 64-bit word.</summary>
    public static ulong[] GenerateState64(ReadOnlySpan<uint> entropy, int words)
    {
        uint[] pool = MixEntropy(entropy);
        var state = new ulong[words];
        uint hashConst = InitB;
        for (int i = 0; i < 2 * words; i++)
        {
            state[i / 2] |= (ulong)HashMix(pool[i % PoolSize], ref hashConst, MultB) << (32 * (i % 2));
        }

        return state;
    }

    private static uint[] MixEntropy(ReadOnlySpan<uint> entropy)
    {
        var pool = new uint[PoolSize];
        uint hashConst = InitA;
        for (int i = 0; i < PoolSize; i++)
        {
            pool[i] = HashMix(i < entropy.Length ? entropy[i] : 0u, ref hashConst, MultA);
        }

        for (int source = 0; source < PoolSize; source++)
        {
            for (int destination = 0; destination < PoolSize; destination++)
            {
                if (source != destination)
                {
                    pool[destination] = Mix(pool[destination], HashMix(pool[source], ref hashConst, MultA));
                }
            }
        }

        for (int source = PoolSize; source < entropy.Length; source++)
        {
            for (int destination = 0; destination < PoolSize; destination++)
            {
                pool[destination] = Mix(pool[destination], HashMix(entropy[source], ref hashConst, MultA));
            }
        }

        return pool;
    }

    /// <summary>The hash of the pool (<c>MultA</c>) and of <c>generate_state</c> (<c>MultB</c>).</summary>
    private static uint HashMix(uint value, ref uint hashConst, uint multiplier)
    {
        value ^= hashConst;
        hashConst *= multiplier;
        value *= hashConst;
        value ^= value >> XShift;
        return value;
    }

    private static uint Mix(uint x, uint y)
    {
        uint result = (MixMultL * x) - (MixMultR * y);
        result ^= result >> XShift;
        return result;
    }
}
