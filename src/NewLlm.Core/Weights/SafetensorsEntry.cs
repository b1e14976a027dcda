namespace NewLlm;

/// <summary>One tensor of a safetensors header: its dtype, shape and place in the data section.</summary>
internal sealed record SafetensorsEntry(string Name, ScalarType DType, int ElementSize, long[] Shape, long Count, long Begin, long End);
