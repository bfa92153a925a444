-- seqlink.lua: a Wireshark dissector for seqlink over UDP, written from
-- docs/PROTOCOL.md: the 9-byte header (1), its integrity check verified
-- (2: Internet checksum or CRC-32C, with the connection id as pseudo-header
-- for bound packets, learned from the handshake), the packet types (3, 7.1),
-- DATA with its ack block and fragment fields (6.2), ACK/SACK (6.3), NACK
-- (6.4), heartbeats, ERR_MSG and RESET (7.1), the handshake (7.3), and
-- coalesced datagrams (4.1: each packet its own subtree).
--
-- Use: wireshark -X lua_script:tools/wireshark/seqlink.lua capture.pcap
-- (or copy it to your Wireshark plugins folder). seqlink runs on any UDP
-- port: a heuristic claims datagrams whose length matches their header
-- (9 + len, or 9 + len + 4 with a zero checksum field: CRC-32C), or that
-- split exactly into such packets back to back (coalesced), and
-- "Decode As... SEQLINK" works on any port.

local seqlink = Proto("seqlink", "seqlink")

-- Bit operations: bit32 (Lua 5.2, Wireshark 3.x/4.0), else Lua 5.3+ operators.
local bxor, band, rshift
if bit32 then
    bxor, band, rshift = bit32.bxor, bit32.band, bit32.rshift
else
    bxor = load("return function(a, b) return a ~ b end")()
    band = load("return function(a, b) return a & b end")()
    rshift = load("return function(a, n) return a >> n end")()
end

local HEADER_LEN = 9
local CRC_TRAILER_LEN = 4

local type_names = {
    [0] = "CMD_PLACE", [1] = "CMD_COORD", [2] = "CMD_ORIENT", [3] = "CMD_FIRE",
    [4] = "CMD_QUIT", [5] = "CMD_PLAY_AGAIN",
    [10] = "MSG_WELCOME", [11] = "MSG_INFO", [12] = "MSG_BOARD_OWN", [13] = "MSG_BOARD_OPP",
    [14] = "MSG_RESULT", [15] = "MSG_GAME_OVER", [16] = "MSG_WAITING", [17] = "MSG_SPECTATOR",
    [20] = "ACK", [21] = "NACK", [22] = "HEARTBEAT", [23] = "ERR_MSG", [24] = "DATA",
    [25] = "SYN", [26] = "SYN_ACK", [27] = "HANDSHAKE_ACK", [28] = "FIN", [29] = "RESET",
}
local TYPE = {
    ACK = 20, NACK = 21, HEARTBEAT = 22, ERR_MSG = 23, DATA = 24,
    SYN = 25, SYN_ACK = 26, HANDSHAKE_ACK = 27, FIN = 28, RESET = 29,
}
-- Peer error codes (docs/PROTOCOL.md 9.3).
local error_codes = {
    [0] = "Other", [1] = "VersionMismatch", [2] = "BadParameters", [3] = "ServerFull",
    [4] = "Refused", [5] = "ProtocolViolation", [6] = "IdleTimeout", [7] = "Aborted",
    [8] = "UnknownConnection",
}
local heartbeat_kinds = { [0] = "ping", [1] = "pong" }

local function type_name(t)
    if type_names[t] then return type_names[t] end
    if t >= 20 and t <= 47 then return "RESERVED_" .. t end
    return "APP_" .. t
end

local f = seqlink.fields
-- header (1)
f.seq = ProtoField.uint32("seqlink.seq", "Sequence number")
f.type = ProtoField.uint8("seqlink.type", "Type", base.DEC, type_names)
f.type_name = ProtoField.string("seqlink.type_name", "Type name")
f.len = ProtoField.uint16("seqlink.len", "Payload length")
f.checksum = ProtoField.uint16("seqlink.checksum", "Checksum", base.HEX)
f.crc32c = ProtoField.uint32("seqlink.crc32c", "CRC-32C trailer", base.HEX)
f.integrity = ProtoField.string("seqlink.integrity", "Integrity mode")
f.check_ok = ProtoField.bool("seqlink.check_ok", "Integrity check valid")
f.pseudo = ProtoField.uint32("seqlink.pseudo_header", "Pseudo-header (connection id) it verified with", base.HEX)
f.payload = ProtoField.bytes("seqlink.payload", "Payload")
-- ack block (6.3) and plain ACK
f.ack = ProtoField.uint32("seqlink.ack.cumulative", "Cumulative acknowledgement")
f.ack_window = ProtoField.uint16("seqlink.ack.window", "Free receive window")
f.sack_len = ProtoField.uint8("seqlink.ack.sack_len", "SACK bitmap length")
f.sack = ProtoField.uint32("seqlink.ack.sack", "Selectively acknowledged")
-- NACK (6.4)
f.nack = ProtoField.uint32("seqlink.nack.seq", "Missing sequence number")
-- DATA (6.2)
f.data_flags = ProtoField.uint8("seqlink.data.flags", "Flags", base.HEX)
f.flag_ack = ProtoField.bool("seqlink.data.flags.ack", "ACK", 8, nil, 0x01)
f.flag_fragment = ProtoField.bool("seqlink.data.flags.fragment", "FRAGMENT", 8, nil, 0x02)
f.flag_unreliable = ProtoField.bool("seqlink.data.flags.unreliable", "UNRELIABLE", 8, nil, 0x04)
f.app_type = ProtoField.uint8("seqlink.data.app_type", "Application type", base.DEC, type_names)
f.frag_index = ProtoField.uint16("seqlink.data.fragment_index", "Fragment index")
f.frag_count = ProtoField.uint16("seqlink.data.fragment_count", "Fragment count")
f.data = ProtoField.bytes("seqlink.data.data", "Data")
-- HEARTBEAT, ERR_MSG, RESET (7.1)
f.hb_kind = ProtoField.uint8("seqlink.heartbeat.kind", "Kind", base.DEC, heartbeat_kinds)
f.hb_stamp = ProtoField.uint32("seqlink.heartbeat.stamp", "Stamp")
f.err_code = ProtoField.uint8("seqlink.error.code", "Error code", base.DEC, error_codes)
f.err_reason = ProtoField.string("seqlink.error.reason", "Reason")
f.reset_token = ProtoField.uint16("seqlink.reset.token", "Token", base.HEX)
-- handshake (7.3)
f.version = ProtoField.uint8("seqlink.hs.version", "Version")
f.hs_flags = ProtoField.uint8("seqlink.hs.flags", "Flags", base.HEX)
f.crc_supported = ProtoField.bool("seqlink.hs.flags.crc_supported", "CRC-32C supported (SYN)", 8, nil, 0x01)
f.crc_chosen = ProtoField.bool("seqlink.hs.flags.crc", "CRC-32C preferred (SYN) / chosen (SYN_ACK)", 8, nil, 0x02)
f.coalesce = ProtoField.bool("seqlink.hs.flags.coalesce", "Coalesced datagrams taken (SYN) / agreed (SYN_ACK)", 8, nil, 0x04)
f.client_id = ProtoField.uint32("seqlink.hs.client_id", "Client id", base.HEX)
f.client_isn = ProtoField.uint32("seqlink.hs.client_isn", "Client initial sequence number")
f.server_id = ProtoField.uint32("seqlink.hs.server_id", "Server id", base.HEX)
f.server_isn = ProtoField.uint32("seqlink.hs.server_isn", "Server initial sequence number")
f.max_payload = ProtoField.uint16("seqlink.hs.max_payload", "Max payload")
f.window = ProtoField.uint16("seqlink.hs.window", "Window")
f.heartbeat_ms = ProtoField.uint32("seqlink.hs.heartbeat_ms", "Heartbeat (ms)")
f.idle_ms = ProtoField.uint32("seqlink.hs.idle_timeout_ms", "Idle timeout (ms)")
f.cookie_time = ProtoField.uint32("seqlink.hs.cookie_time", "Cookie time")
f.cookie = ProtoField.uint64("seqlink.hs.cookie", "Cookie", base.HEX)
f.ext_len = ProtoField.uint16("seqlink.hs.ext_len", "Extension length")
f.ext = ProtoField.bytes("seqlink.hs.extension", "Extension")
f.padding = ProtoField.bytes("seqlink.hs.padding", "Padding")
f.conn_id = ProtoField.uint32("seqlink.hs.connection_id", "Connection id (client_id XOR server_id)", base.HEX)

local ef_bad_check = ProtoExpert.new("seqlink.check_bad", "Integrity check failed", expert.group.CHECKSUM, expert.severity.ERROR)
local ef_malformed = ProtoExpert.new("seqlink.malformed", "Malformed payload", expert.group.MALFORMED, expert.severity.ERROR)
seqlink.experts = { ef_bad_check, ef_malformed }

-- Connection ids learned from handshakes (7.2): pseudo-headers to try.
local connection_ids = {}

function seqlink.init()
    connection_ids = {}
end

-- The one's complement sum (RFC 1071) of bytes[first..last] of a ByteArray
-- continued from `sum`, bytes taken as big-endian 16-bit words from an even
-- start; an odd count is padded with a zero byte.
local function ones_sum(bytes, first, last, sum)
    local i = first
    while i + 1 <= last do
        sum = sum + bytes:get_index(i) * 256 + bytes:get_index(i + 1)
        i = i + 2
    end
    if i == last then
        sum = sum + bytes:get_index(i) * 256
    end
    while sum > 0xffff do
        sum = (sum % 65536) + math.floor(sum / 65536)
    end
    return sum
end

-- The Internet checksum (2.1) of the packet in `bytes` (header + payload) with `pseudo` (2.3).
local function internet_checksum(bytes, payload_len, pseudo)
    local sum = math.floor(pseudo / 65536) + pseudo % 65536
    -- seq, type, len: the 7 header bytes before the checksum field, then the payload
    local data = ByteArray.new()
    data:append(bytes:subset(0, 7))
    if payload_len > 0 then
        data:append(bytes:subset(HEADER_LEN, payload_len))
    end
    sum = ones_sum(data, 0, data:len() - 1, sum)
    return 0xffff - sum
end

-- CRC-32C (Castagnoli, reflected, init and xorout 0xFFFFFFFF; 2.2).
local crc_table = {}
for n = 0, 255 do
    local c = n
    for _ = 1, 8 do
        if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
    end
    crc_table[n] = c
end

local function crc32c_update(crc, bytes, first, last)
    for i = first, last do
        crc = bxor(crc_table[band(bxor(crc, bytes:get_index(i)), 0xff)], rshift(crc, 8))
    end
    return crc
end

local function crc32c_of(bytes, payload_len, pseudo)
    local input = ByteArray.new()
    local p = ByteArray.new()
    p:set_size(4)
    p:set_index(0, math.floor(pseudo / 16777216) % 256)
    p:set_index(1, math.floor(pseudo / 65536) % 256)
    p:set_index(2, math.floor(pseudo / 256) % 256)
    p:set_index(3, pseudo % 256)
    input:append(p)
    input:append(bytes:subset(0, HEADER_LEN + payload_len)) -- its checksum field is zero
    return bxor(crc32c_update(0xffffffff, input, 0, input:len() - 1), 0xffffffff)
end

-- The pseudo-header the packet verifies with, or nil.
local function verify(bytes, payload_len, crc_mode, received)
    local candidates = { 0 }
    for id in pairs(connection_ids) do candidates[#candidates + 1] = id end
    for _, pseudo in ipairs(candidates) do
        local computed
        if crc_mode then computed = crc32c_of(bytes, payload_len, pseudo)
        else computed = internet_checksum(bytes, payload_len, pseudo) end
        if computed == received then return pseudo end
    end
    return nil
end

local function xor32(a, b)
    return bxor(a, b) % 4294967296
end

-- The ack block (6.3) at `off`; returns the offset after it.
local function ack_block(tvb, tree, off, limit)
    if off + 7 > limit then return nil end
    local cumulative = tvb(off, 4):uint()
    tree:add(f.ack, tvb(off, 4))
    tree:add(f.ack_window, tvb(off + 4, 2))
    local sack_len = tvb(off + 6, 1):uint()
    tree:add(f.sack_len, tvb(off + 6, 1))
    if off + 7 + sack_len > limit then return nil end
    for byte = 0, sack_len - 1 do
        local bits = tvb(off + 7 + byte, 1):uint()
        for bit = 0, 7 do
            if band(rshift(bits, bit), 1) == 1 then
                local seq = (cumulative + 2 + byte * 8 + bit) % 4294967296
                tree:add(f.sack, tvb(off + 7 + byte, 1), seq)
            end
        end
    end
    return off + 7 + sack_len
end

local function params(tvb, tree, off)
    tree:add(f.max_payload, tvb(off, 2))
    tree:add(f.window, tvb(off + 2, 2))
    tree:add(f.heartbeat_ms, tvb(off + 4, 4))
    tree:add(f.idle_ms, tvb(off + 8, 4))
    return off + 12
end

local function hs_flags(tvb, tree, off)
    local ft = tree:add(f.hs_flags, tvb(off, 1))
    ft:add(f.crc_supported, tvb(off, 1))
    ft:add(f.crc_chosen, tvb(off, 1))
    ft:add(f.coalesce, tvb(off, 1))
end

local function extension(tvb, tree, off, limit)
    tree:add(f.ext_len, tvb(off, 2))
    local n = tvb(off, 2):uint()
    off = off + 2
    if n > 0 and off + n <= limit then
        tree:add(f.ext, tvb(off, n))
    end
    off = off + n
    if off < limit then
        tree:add(f.padding, tvb(off, limit - off))
    end
end

-- The payload fields of each type; `p` is the payload's offset, `limit` its end.
local function dissect_payload(ptype, tvb, tree, p, limit, pinfo)
    local n = limit - p
    local function malformed(what)
        tree:add_proto_expert_info(ef_malformed, what)
    end
    if ptype == TYPE.ACK then
        if n == 4 then
            tree:add(f.ack, tvb(p, 4))
        elseif ack_block(tvb, tree, p, limit) ~= limit then
            malformed("ACK: neither 4 bytes nor an ack block")
        end
    elseif ptype == TYPE.NACK then
        if n < 4 or n > 64 or n % 4 ~= 0 then
            malformed("NACK: 1 to 16 sequence numbers")
        else
            for off = p, limit - 4, 4 do tree:add(f.nack, tvb(off, 4)) end
        end
    elseif ptype == TYPE.HEARTBEAT then
        if n >= 5 then
            tree:add(f.hb_kind, tvb(p, 1))
            tree:add(f.hb_stamp, tvb(p + 1, 4))
        elseif n == 0 then
            tree:add(f.hb_kind, 0):set_generated()
        end
    elseif ptype == TYPE.ERR_MSG then
        if n >= 1 then
            tree:add(f.err_code, tvb(p, 1))
            if n > 1 then tree:add(f.err_reason, tvb(p + 1, n - 1)) end
        end
    elseif ptype == TYPE.RESET then
        if n >= 3 then
            tree:add(f.err_code, tvb(p, 1))
            tree:add(f.reset_token, tvb(p + 1, 2))
        else
            malformed("RESET: code and token")
        end
    elseif ptype == TYPE.DATA then
        if n < 2 then malformed("DATA: flags and app type") return end
        local flags = tvb(p, 1):uint()
        local ft = tree:add(f.data_flags, tvb(p, 1))
        ft:add(f.flag_ack, tvb(p, 1))
        ft:add(f.flag_fragment, tvb(p, 1))
        ft:add(f.flag_unreliable, tvb(p, 1))
        tree:add(f.app_type, tvb(p + 1, 1))
        local off = p + 2
        if band(flags, 0x01) ~= 0 then
            off = ack_block(tvb, tree, off, limit)
            if not off then malformed("DATA: ack block") return end
        end
        if band(flags, 0x02) ~= 0 then
            if off + 4 > limit then malformed("DATA: fragment fields") return end
            tree:add(f.frag_index, tvb(off, 2))
            tree:add(f.frag_count, tvb(off + 2, 2))
            off = off + 4
        end
        if band(flags, 0xf8) ~= 0 then malformed("DATA: unknown flag bits") end
        if off < limit then tree:add(f.data, tvb(off, limit - off)) end
    elseif ptype == TYPE.SYN then
        if n < 24 then malformed("SYN: shorter than 24 bytes") return end
        tree:add(f.version, tvb(p, 1))
        hs_flags(tvb, tree, p + 1)
        tree:add(f.client_id, tvb(p + 2, 4))
        tree:add(f.client_isn, tvb(p + 6, 4))
        extension(tvb, tree, params(tvb, tree, p + 10), limit)
    elseif ptype == TYPE.SYN_ACK or ptype == TYPE.HANDSHAKE_ACK then
        local with_isn = ptype == TYPE.HANDSHAKE_ACK
        local fixed = with_isn and 44 or 40
        if n < fixed then malformed("handshake: shorter than " .. fixed .. " bytes") return end
        tree:add(f.version, tvb(p, 1))
        hs_flags(tvb, tree, p + 1)
        tree:add(f.client_id, tvb(p + 2, 4))
        local client_id = tvb(p + 2, 4):uint()
        local off = p + 6
        if with_isn then
            tree:add(f.client_isn, tvb(off, 4))
            off = off + 4
        end
        tree:add(f.server_id, tvb(off, 4))
        local server_id = tvb(off, 4):uint()
        tree:add(f.server_isn, tvb(off + 4, 4))
        off = params(tvb, tree, off + 8)
        tree:add(f.cookie_time, tvb(off, 4))
        tree:add(f.cookie, tvb(off + 4, 8))
        extension(tvb, tree, off + 12, limit)
        local id = xor32(client_id, server_id)
        tree:add(f.conn_id, id):set_generated()
        return id
    elseif ptype == TYPE.FIN then
        -- no payload (7.6)
    elseif n > 0 then
        tree:add(f.data, tvb(p, n))
    end
end

-- One packet, exactly the bytes of `tvb`; returns its length (0: not a
-- packet) and its summary for the Info column.
local function dissect_packet(tvb, pinfo, root)
    local total = tvb:len()
    if total < HEADER_LEN then return 0 end
    local payload_len = tvb(5, 2):uint()
    local checksum = tvb(7, 2):uint()
    local crc_mode = total == HEADER_LEN + payload_len + CRC_TRAILER_LEN and checksum == 0
    if total ~= HEADER_LEN + payload_len and not crc_mode then return 0 end

    pinfo.cols.protocol = "SEQLINK"
    local ptype = tvb(4, 1):uint()
    local tree = root:add(seqlink, tvb(), "seqlink, " .. type_name(ptype))
    tree:add(f.seq, tvb(0, 4))
    tree:add(f.type, tvb(4, 1))
    tree:add(f.type_name, type_name(ptype)):set_generated()
    tree:add(f.len, tvb(5, 2))
    tree:add(f.checksum, tvb(7, 2))
    tree:add(f.integrity, crc_mode and "crc32c" or "checksum"):set_generated()

    local bytes = tvb:bytes()
    local received = checksum
    if crc_mode then
        tree:add(f.crc32c, tvb(HEADER_LEN + payload_len, 4))
        received = tvb(HEADER_LEN + payload_len, 4):uint()
    end
    local learned
    if payload_len > 0 then
        tree:add(f.payload, tvb(HEADER_LEN, payload_len))
    end
    learned = dissect_payload(ptype, tvb, tree, HEADER_LEN, HEADER_LEN + payload_len, pinfo)
    -- handshake packets always use the Internet checksum and no pseudo-header (7.1)
    local pseudo = verify(bytes, payload_len, crc_mode, received)
    local ok = pseudo ~= nil
    tree:add(f.check_ok, ok):set_generated()
    if ok then
        tree:add(f.pseudo, pseudo):set_generated()
        if learned then connection_ids[learned] = true end
    else
        tree:add_proto_expert_info(ef_bad_check)
    end
    local info = string.format("%s seq=%u len=%u%s", type_name(ptype), tvb(0, 4):uint(), payload_len,
        ok and "" or " [BAD CHECK]")
    return total, info
end

-- The packets of a coalesced datagram (docs/PROTOCOL.md 4.1), if it splits
-- exactly into whole packets: a list of {offset, length}. Each packet starts
-- where the one before it ended and is 9 + len bytes, plus a 4-byte CRC-32C
-- trailer when its checksum field is 0 and the datagram has room for it
-- (the same rule as `seqlink inspect`).
local function split_coalesced(tvb)
    local total = tvb:len()
    local parts = {}
    local off = 0
    while off < total do
        if total - off < HEADER_LEN then return nil end
        local size = HEADER_LEN + tvb(off + 5, 2):uint()
        if tvb(off + 7, 2):uint() == 0 and off + size + CRC_TRAILER_LEN <= total then
            size = size + CRC_TRAILER_LEN
        end
        if off + size > total then return nil end
        parts[#parts + 1] = { off, size }
        off = off + size
    end
    return parts
end

local function dissect(tvb, pinfo, root)
    local parts = split_coalesced(tvb)
    if not parts or #parts < 2 then
        local total, info = dissect_packet(tvb, pinfo, root)
        if total > 0 then pinfo.cols.info = info end
        return total
    end
    local infos = {}
    for i, part in ipairs(parts) do
        local _, info = dissect_packet(tvb(part[1], part[2]):tvb(), pinfo, root)
        infos[i] = info
    end
    pinfo.cols.info = string.format("[%d packets] %s", #parts, table.concat(infos, " | "))
    return tvb:len()
end

function seqlink.dissector(tvb, pinfo, root)
    return dissect(tvb, pinfo, root)
end

local function heuristic(tvb, pinfo, root)
    local total = tvb:len()
    if total < HEADER_LEN then return false end
    local payload_len = tvb(5, 2):uint()
    local fits = total == HEADER_LEN + payload_len
        or (total == HEADER_LEN + payload_len + CRC_TRAILER_LEN and tvb(7, 2):uint() == 0)
    if not fits and not split_coalesced(tvb) then return false end
    dissect(tvb, pinfo, root)
    pinfo.conversation = seqlink
    return true
end

seqlink:register_heuristic("udp", heuristic)
DissectorTable.get("udp.port"):add_for_decode_as(seqlink)
