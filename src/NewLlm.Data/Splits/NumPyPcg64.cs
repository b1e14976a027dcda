using System.Numerics;

namespace NewLlm.Data;

/// <summary>
/// NumPy's <c>PCG64</c> bit generator as <c>numpy.random.default_rng(seed)</c> builds it, with the two draws
/// <c>Generator.shuffle</c> needs. The state is a 128-bit LCG (PCG's default 128-bit multiplier, odd increment) whose
/// 64-bit output is XSL-RR of the state after each step; 32-bit draws are the low then the high half of one 64-bit
/// output, as NumPy buffers them.
/// </summary>
internal sealed class NumPyPcg64
{
    private static readonly UInt128 Multiplier = new(2549297995355413924UL, 4865540595714422341UL);

    private readonly UInt128 _increment;
    private UInt128 _state;
    private bool _hasUInt32;
    private uint _uinteger;

    /// <summary>Seeds as <c>PCG64(seed)</c>: four 64-bit words from <see cref="NumPySeedSequence"/>, the first two the initial state (high, low), the last two the stream.</summary>
    public NumPyPcg64(ulong seed)
    {
        ulong[] words = NumPySeedSequence.GenerateState64(NumPySeedSequence.EntropyWords(seed), 4);
        var initialState = new UInt128(words[0], words[1]);
        var sequence = new UInt128(words[2], words[3]);
        _increment = (sequence << 1) | UInt128.One;
        _state = UInt128.Zero;
        Step();
        _state += initialState;
        Step();
    }

    /// <summary>The next 64-bit output (<c>next_uint64</c>).</summary>
    public ulong NextUInt64()
    {
        Step();
        ulong high = (ulong)(_state >> 64);
        ulong low = (ulong)_state;
        return ulong.RotateRight(high ^ low, (int)(high >> 58));
    }

    /// <summary>The next 32-bit output (<c>next_uint32</c>): the low half of a fresh 64-bit output, then its buffered high half.</summary>
    public uint NextUInt32()
    {
        if (_hasUInt32)
        {
            _hasUInt32 = false;
            return _uinteger;
        }

        ulong next = NextUInt64();
        _hasUInt32 = true;
        _uinteger = (uint)(next >> 32);
        return (uint)next;
    }

    /// <summary>
    /// A uniform integer in [0, <paramref name="max"/>] as NumPy's <c>random_interval</c> draws it: masked rejection
    /// with the smallest all-ones mask covering <paramref name="max"/>, 32-bit draws while the bound fits in 32 bits.
    /// </summary>
    public ulong Interval(ulong max)
    {
        if (max == 0)
        {
            return 0;
        }

        ulong mask = ulong.MaxValue >> BitOperations.LeadingZeroCount(max);
        ulong value;
        do
        {
            value = (max <= uint.MaxValue ? NextUInt32() : NextUInt64()) & mask;
        }
        while (value > max);

        return value;
    }

    /// <summary><c>Generator.shuffle</c> of a 1-D array: Fisher–Yates from the last element down to the second, each swapped with <c>random_interval(i)</c>.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i >= 1; i--)
        {
            int j = (int)Interval((ulong)i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private void Step() => _state = (_state * Multiplier) + _increment;
}
