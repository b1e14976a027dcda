namespace NewLlm;

/// <summary>One tensor of a safetensors header: its dtype, shape and place in the data section.</summary>
internal sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);
